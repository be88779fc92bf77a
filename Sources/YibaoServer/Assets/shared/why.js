// Why the basic fund paid what it paid, read from a settlement's national buckets (`breakdown`), for the
// cashier's console and the patient's wallet alike; each says it in its own words.
//   nothing-in-scope  every amount is self-paid or paid first by the patient (inscp_scp_amt 0)
//   not-covered       this care at this hospital level is not covered: the ratio is 0 (pool_prop_selfpay)
//   covered / capped  in scope, less the deductible this visit met (act_pay_dedc), times the ratio; the
//                     pooled fund (hifp_pay) paid less than that only when the annual cap was reached
import { percent } from '/shared/format.js';

/** `{ kind, inScope, deductible, ratio, fund }`: amounts in fen, the ratio in basis points. */
function fundReason(b) {
  const inScope = b.inscp_scp_amt ?? 0;
  const deductible = b.act_pay_dedc ?? 0;
  const ratio = b.pool_prop_selfpay ?? 0;
  const fund = b.hifp_pay ?? 0;
  if (inScope <= 0) return { kind: 'nothing-in-scope', inScope, deductible, ratio, fund };
  if (ratio <= 0) return { kind: 'not-covered', inScope, deductible, ratio, fund };
  // The engine rounds each portion to the fen; a fen below is rounding, more is the cap.
  const uncapped = Math.round(((inScope - deductible) * ratio) / 10_000);
  return { kind: fund < uncapped - 1 ? 'capped' : 'covered', inScope, deductible, ratio, fund };
}

/**
 * The reason as a sentence, in the words of the app that asks (`t` and `yuan` are its own; each has
 * whyNothingInScope, whyNotCovered, whyCovered, whyCoveredNoDeductible and whyCapped): `{ kind, text }`.
 */
export function fundWhy(b, t, yuan) {
  const why = fundReason(b);
  const covered = () => (why.deductible > 0 ? t('whyCovered', yuan(why.inScope), yuan(why.deductible), percent(why.ratio), yuan(why.fund))
    : t('whyCoveredNoDeductible', yuan(why.inScope), percent(why.ratio), yuan(why.fund)));
  const text = {
    'nothing-in-scope': () => t('whyNothingInScope'),
    'not-covered': () => t('whyNotCovered', yuan(why.inScope)),
    covered,
    capped: () => `${covered()} ${t('whyCapped')}`,
  }[why.kind]();
  return { kind: why.kind, text };
}
