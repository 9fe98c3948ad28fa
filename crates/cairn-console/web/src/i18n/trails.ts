// Strings of the trails pages.
export const en = {};

export const ja: Record<keyof typeof en, string> = {};
