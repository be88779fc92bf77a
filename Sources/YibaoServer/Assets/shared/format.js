// Figures as every app writes them.

/** A ratio in basis points as a percentage: 7000 → "70%", 9250 → "92.5%". */
export const percent = (bp) => `${bp / 100}%`;
