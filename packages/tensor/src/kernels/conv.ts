// Patch-matrix kernels of the 2-D convolution (im2col and its adjoint col2im) on raw Float32Arrays; no tensors.

/** Geometry of one 2-D convolution over one image: input [C, H, W] → output [·, OH, OW]. */
export interface ConvGeometry {
  /** Input channels read (one group's). */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  /** Zero rows above and zero columns left of the input (the other sides follow from the output size). */
  readonly padTop: number;
  readonly padLeft: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly outH: number;
  readonly outW: number;
}

/**
 * The output columns `ow` whose input column `ow·stride − pad + offset` lies in [0, width): [lo, hi).
 * (Used per kernel column: `offset` = kj·dilation.)
 */
function validRange(outSize: number, stride: number, pad: number, offset: number, size: number): [number, number] {
  // ow·stride − pad + offset >= 0  ⇔  ow >= ceil((pad − offset) / stride)
  const lo = Math.max(0, Math.ceil((pad - offset) / stride));
  // ow·stride − pad + offset <= size − 1  ⇔  ow <= floor((size − 1 + pad − offset) / stride)
  const hi = Math.min(outSize, Math.floor((size - 1 + pad - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Writes the patch matrix of one image: `col[(c·kH + ki)·kW + kj, oh·OW + ow] = x[c, oh·sH − padTop + ki·dH,
 * ow·sW − padLeft + kj·dW]` (0 where that falls in the padding). `x` holds the image's `channels` planes from `xOff`;
 * `col` is [channels·kH·kW, OH·OW] from `colOff`, every element written.
 */
export function im2col(g: ConvGeometry, x: Float32Array, xOff: number, col: Float32Array, colOff: number): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const plane = height * width;
  let row = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * plane;
    for (let ki = 0; ki < kernelH; ki++) {
      const [ohLo, ohHi] = validRange(outH, strideH, padTop, ki * dilationH, height);
      for (let kj = 0; kj < kernelW; kj++) {
        const [owLo, owHi] = validRange(outW, strideW, padLeft, kj * dilationW, width);
        const colOffset = kj * dilationW - padLeft;
        for (let oh = 0; oh < outH; oh++) {
          const dst = row + oh * outW;
          if (oh < ohLo || oh >= ohHi) {
            col.fill(0, dst, dst + outW);
            continue;
          }
          const src = xc + (oh * strideH - padTop + ki * dilationH) * width + colOffset;
          for (let ow = 0; ow < owLo; ow++) col[dst + ow] = 0;
          if (strideW === 1) {
            for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow]!;
          } else {
            for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow * strideW]!;
          }
          for (let ow = owHi; ow < outW; ow++) col[dst + ow] = 0;
        }
        row += outH * outW;
      }
    }
  }
}

/**
 * The adjoint of {@link im2col}: adds every element of the patch matrix `col` back onto the input position it was
 * read from, `dx[c, ih, iw] += col[...]` (padding positions are dropped). `dx` must hold the image's planes from
 * `dxOff`, already initialised (zeros, or values to add to). The sum at each position runs over (ki, kj) in order.
 */
export function col2im(g: ConvGeometry, col: Float32Array, colOff: number, dx: Float32Array, dxOff: number): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const plane = height * width;
  let row = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = dxOff + c * plane;
    for (let ki = 0; ki < kernelH; ki++) {
      const [ohLo, ohHi] = validRange(outH, strideH, padTop, ki * dilationH, height);
      for (let kj = 0; kj < kernelW; kj++) {
        const [owLo, owHi] = validRange(outW, strideW, padLeft, kj * dilationW, width);
        const colOffset = kj * dilationW - padLeft;
        for (let oh = ohLo; oh < ohHi; oh++) {
          const srcRow = row + oh * outW;
          const dst = xc + (oh * strideH - padTop + ki * dilationH) * width + colOffset;
          if (strideW === 1) {
            for (let ow = owLo; ow < owHi; ow++) dx[dst + ow]! += col[srcRow + ow]!;
          } else {
            for (let ow = owLo; ow < owHi; ow++) dx[dst + ow * strideW]! += col[srcRow + ow]!;
          }
        }
        row += outH * outW;
      }
    }
  }
}
