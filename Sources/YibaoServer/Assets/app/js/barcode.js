// Code 128 (ISO/IEC 15417) for the e-voucher digits: set C for digit pairs, set B for an odd last digit.
import { svgElement } from './qr.js';

// Bar and space widths of the 107 symbols (bar, space, bar, space, bar, space; the stop has a 7th bar).
const WIDTHS = (
  '212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231 ' +
  '113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 ' +
  '212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 ' +
  '113123 113321 133121 313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 ' +
  '314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 ' +
  '241211 221114 413111 241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 ' +
  '214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 ' +
  '211232 2331112'
).split(' ');
const START_C = 105;
const CODE_B = 100;
const STOP = 106;

/** The symbol values encoding a string of digits, check symbol and stop included. */
export function code128Values(digits) {
  if (!/^\d+$/.test(digits)) throw new Error('digits only');
  const values = [START_C];
  let i = 0;
  for (; i + 1 < digits.length; i += 2) values.push(Number(digits.slice(i, i + 2)));
  if (i < digits.length) values.push(CODE_B, digits.charCodeAt(i) - 32);
  const check = values.reduce((sum, value, position) => sum + value * Math.max(position, 1), 0) % 103;
  values.push(check, STOP);
  return values;
}

/** An SVG element with the barcode (a ten-module quiet zone either side). */
export function barcodeSVG(digits, label) {
  const widths = code128Values(digits).map((v) => WIDTHS[v]).join('');
  let x = 10;
  let path = '';
  [...widths].forEach((w, index) => {
    const width = Number(w);
    if (index % 2 === 0) path += `M${x},0h${width}v40h-${width}z`;
    x += width;
  });
  return svgElement(`0 0 ${x + 10} 40`, `<rect width="${x + 10}" height="40" fill="#fff"/><path fill="#000" d="${path}"/>`, label);
}
