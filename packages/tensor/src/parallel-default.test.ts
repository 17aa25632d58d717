// The default thread count: the cores the runtime reports (navigator.hardwareConcurrency), 1 where it reports none.
import { afterEach, describe, expect, it } from "vitest";
import { getNumThreads, setNumThreads, setWorkerFactory } from "./parallel.js";

const g = globalThis as { navigator?: unknown };
const fakeWorker = () => ({ postMessage: () => undefined, terminate: () => undefined });

describe("getNumThreads before any setNumThreads", () => {
  const had = Object.getOwnPropertyDescriptor(globalThis, "navigator");
  afterEach(() => {
    setWorkerFactory(null);
    if (had === undefined) delete g.navigator;
    else Object.defineProperty(globalThis, "navigator", had);
  });

  it("is 1 without a worker factory, and the reported cores with one", () => {
    Object.defineProperty(globalThis, "navigator", { value: { hardwareConcurrency: 3 }, configurable: true, writable: true });
    expect(getNumThreads()).toBe(1);
    setWorkerFactory(fakeWorker);
    expect(getNumThreads()).toBe(3);
  });

  it("is 1 where the runtime reports no core count (Node 20), until setNumThreads", () => {
    Object.defineProperty(globalThis, "navigator", { value: undefined, configurable: true, writable: true });
    setWorkerFactory(fakeWorker);
    expect(getNumThreads()).toBe(1);
    setNumThreads(2);
    expect(getNumThreads()).toBe(2);
  });
});
