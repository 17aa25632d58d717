// Minimal typings of the WebAssembly JS API used by the kernels, read from globalThis. The tensor package is
// type-checked with lib ES2022 only (no DOM), where `WebAssembly` is untyped; we type the few members we use under
// our own names instead of declaring the global, so nothing can clash with DOM or Node typings that declare it.

/** A `WebAssembly.Memory`: `buffer` is replaced (and, unless shared, the old one detached) by each `grow`. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Grows by `deltaPages` pages of 64 KiB; returns the previous size in pages. Throws past the maximum. */
  grow(deltaPages: number): number;
}

/** Descriptor of `new WebAssembly.Memory(…)`; a shared memory needs `maximum`. */
export interface WasmMemoryDescriptor {
  readonly initial: number;
  readonly maximum?: number;
  readonly shared?: boolean;
}

/** A compiled `WebAssembly.Module` (opaque; can be posted to a worker and instantiated there). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

/** An instantiated module. */
export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

/** Imports object: module name → field name → value. */
export type WasmImports = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The members of the `WebAssembly` namespace we use. */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance;
  readonly Memory: new (descriptor: WasmMemoryDescriptor) => WasmMemory;
}

/** The global `WebAssembly` object, or null where the engine has none (e.g. some locked-down runtimes). */
export function wasmApi(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return api ?? null;
}
