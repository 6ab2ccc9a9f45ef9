/** @sealog/verifier — public surface (named re-exports only). */
export const PACKAGE_NAME: string = '@sealog/verifier';
