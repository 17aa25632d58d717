// SIMD kernels of the optimizers that have no kernel in kernels.ts: Adadelta's fused update, emitted with the assembler.
// Addresses are i32 byte offsets into the imported memory; every operation is an IEEE f32 one, in PyTorch's order.
import { FunctionBuilder, ModuleBuilder, type Local } from "./assembler.js";

/** Exported names and signatures (addresses are i32 byte offsets). */
export interface OptimKernelExports {
  /**
   * Adadelta on elements [start, end) of p, v, u (g read only): g' = ±g (+ wd·p when wd ≠ 0);
   * v = v·ρ + ((1−ρ)·g')·g'; Δ = (√(u + eps) / √(v + eps))·g'; u = u·ρ + ((1−ρ)·Δ)·Δ; p = p + (−lr)·Δ.
   */
  adadelta(p: number, g: number, v: number, u: number, start: number, end: number,
    rho: number, oneMinusRho: number, eps: number, negLr: number, weightDecay: number, maximize: number): void;
}

function buildAdadelta(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "f32", "f32", "f32", "f32", "f32", "i32"]);
  const [p, g, v, u, start, end] = [0, 1, 2, 3, 4, 5].map((t) => f.param(t)) as [Local, Local, Local, Local, Local, Local];
  const scalars = [6, 7, 8, 9, 10].map((t) => f.param(t)) as [Local, Local, Local, Local, Local];
  const maximize = f.param(11);
  const wd = scalars[4];
  const vec = scalars.map(() => f.local("v128")) as [Local, Local, Local, Local, Local];
  scalars.forEach((s, t) => f.localGet(s).f32x4Splat().localSet(vec[t]!));
  const off = f.local("i32"), vecEnd = f.local("i32"), endBytes = f.local("i32");
  const gv = f.local("v128"), pv = f.local("v128"), vv = f.local("v128"), dv = f.local("v128");
  const gs = f.local("f32"), ps = f.local("f32"), vs = f.local("f32"), ds = f.local("f32");

  /** One element (kind f32) or four (v128) at byte offset `off`, with or without −g and weight decay. */
  const body = (kind: "v128" | "f32", neg: boolean, decay: boolean): void => {
    const V = kind === "v128";
    const [G, P, Vv, D] = V ? [gv, pv, vv, dv] : [gs, ps, vs, ds];
    const [RHO, OMR, EPS, NEGLR, WD] = V ? vec : scalars;
    const load = (base: Local): void => { f.localGet(base).localGet(off).i32Add(); if (V) f.v128Load(); else f.f32Load(); };
    const addr = (base: Local): void => { f.localGet(base).localGet(off).i32Add(); };
    const store = (): void => { if (V) f.v128Store(); else f.f32Store(); };
    const add = (): void => { if (V) f.f32x4Add(); else f.f32Add(); };
    const mul = (): void => { if (V) f.f32x4Mul(); else f.f32Mul(); };
    const div = (): void => { if (V) f.f32x4Div(); else f.f32Div(); };
    const sqrt = (): void => { if (V) f.f32x4Sqrt(); else f.f32Sqrt(); };
    load(p); f.localSet(P);
    load(g);
    if (neg) { if (V) f.f32x4Neg(); else f.f32Neg(); }
    if (decay) { f.localGet(WD).localGet(P); mul(); add(); }
    f.localSet(G);
    // v = v·ρ + ((1−ρ)·g)·g
    addr(v);
    load(v); f.localGet(RHO); mul();
    f.localGet(OMR).localGet(G); mul(); f.localGet(G); mul(); add();
    f.localTee(Vv); store();
    // Δ = (√(u + eps) / √(v + eps))·g
    load(u); f.localGet(EPS); add(); sqrt();
    f.localGet(Vv).localGet(EPS); add(); sqrt();
    div(); f.localGet(G); mul(); f.localSet(D);
    // u = u·ρ + ((1−ρ)·Δ)·Δ
    addr(u);
    load(u); f.localGet(RHO); mul();
    f.localGet(OMR).localGet(D); mul(); f.localGet(D); mul(); add();
    store();
    // p = p + (−lr)·Δ
    addr(p);
    f.localGet(P).localGet(NEGLR).localGet(D); mul(); add();
    store();
  };
  const loops = (neg: boolean, decay: boolean): void => {
    f.localGet(start).i32Const(4).i32Mul().localSet(off);
    f.localGet(end).i32Const(4).i32Mul().localSet(endBytes);
    f.localGet(endBytes).localGet(endBytes).localGet(off).i32Sub().i32Const(16).i32RemU().i32Sub().localSet(vecEnd);
    f.forLoop(off, vecEnd, 16, () => body("v128", neg, decay));
    f.forLoop(off, endBytes, 4, () => body("f32", neg, decay));
  };
  const decayBranches = (neg: boolean): void => {
    f.localGet(wd).f32Const(0).f32Ne().if(() => loops(neg, true), () => loops(neg, false));
  };
  f.localGet(maximize).if(() => decayBranches(true), () => decayBranches(false));
  return f;
}

/** The optimizer kernel module's bytes: `env.memory` imported (shared or not) and the functions of `OptimKernelExports`. */
export function buildOptimKernelModule({ shared }: { readonly shared: boolean }): Uint8Array {
  const mod = new ModuleBuilder();
  mod.importMemory(shared
    ? { module: "env", name: "memory", minPages: 0, maxPages: 65536, shared: true }
    : { module: "env", name: "memory", minPages: 0, shared: false });
  mod.addFunction(buildAdadelta(), "adadelta");
  return mod.toBytes();
}
