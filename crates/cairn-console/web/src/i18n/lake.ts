// Strings of the lake pages.
export const en = {};

export const ja: Record<keyof typeof en, string> = {};
