/** @sealog/crypto-envelope — public surface (named re-exports only). */
export const PACKAGE_NAME: string = '@sealog/crypto-envelope';
