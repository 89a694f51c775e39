import { activeBackend, loadTf } from '../../../src/engine/tf.js';

describe('loadTf', () => {
  it('activates cpu without printing the "install tfjs-node" banner, and keeps PROD off', async () => {
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      const tf = await loadTf('cpu');
      expect(tf.getBackend()).toBe('cpu');
      expect(activeBackend()).toBe('cpu');
      tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)).dataSync());
      expect(tf.env().getBool('PROD')).toBe(false);
    } finally {
      console.warn = warn;
    }
    expect(warnings.map((w) => String(w[0]))).not.toContainEqual(expect.stringContaining('install our node backend'));
  });

  it('(control) a fresh cpu backend does print the banner on its first write', async () => {
    const tf = await loadTf('cpu');
    const Cpu = tf.findBackend('cpu')?.constructor as new () => { write(v: Float32Array, s: number[], d: string): unknown; dispose(): void };
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    const probe = new Cpu();
    try {
      probe.write(new Float32Array([0]), [], 'float32');
    } finally {
      console.warn = warn;
      probe.dispose();
    }
    expect(warnings.map((w) => String(w[0]))).toContainEqual(expect.stringContaining('install our node backend'));
  });

  it('activates wasm and runs beforeReady before the backend initialises', async () => {
    let setups = 0;
    let hookCalls = 0;
    const tf = await loadTf('wasm', {
      beforeReady: (tf) => {
        hookCalls++;
        // A kernel registered here gets its setupFunc called while the backend
        // initialises: what wasm kernels need.
        if (!tf.getKernel('ModelpressTestKernel', 'wasm')) {
          tf.registerKernel({
            kernelName: 'ModelpressTestKernel',
            backendName: 'wasm',
            kernelFunc: () => {
              throw new Error('not called');
            },
            setupFunc: () => {
              setups++;
            },
          });
        }
      },
    });
    try {
      expect(hookCalls).toBe(1);
      expect(setups).toBe(1);
      expect(tf.getBackend()).toBe('wasm');
      expect(activeBackend()).toBe('wasm');
      expect(tf.tidy(() => Array.from(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()))).toEqual([11]);
    } finally {
      tf.unregisterKernel('ModelpressTestKernel', 'wasm');
    }
  });

  it('imports tfjs once', async () => {
    expect(await loadTf('cpu')).toBe(await loadTf('cpu'));
  });

  it('says when tfjs-node is not installed', async () => {
    await expect(loadTf('tfjs-node')).rejects.toThrow(/^tfjs-node is not installed \(npm install @tensorflow\/tfjs-node/);
  });

  it('rejects an unknown backend', async () => {
    await expect(loadTf('webgpu' as never)).rejects.toThrow(
      new TypeError('Expected backend to be one of wasm, cpu, tfjs-node, got "webgpu"'),
    );
  });
});
