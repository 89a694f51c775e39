/**
 * The published numbers bench/papers.mjs compares modelpress with, and the
 * targets a modelpress run must meet. Error rates in percent, sizes in
 * bytes where the paper's KB is converted (the papers' "KB" is 1,000 bytes:
 * LeNet-300-100's 266,610 float32 parameters are 1,066,440 bytes, "1070 KB").
 */

export const citations = {
  deepCompression: {
    key: 'Han et al. 2016',
    text: 'S. Han, H. Mao, W. J. Dally. Deep Compression: Compressing Deep Neural Networks with Pruning, Trained Quantization and Huffman Coding. ICLR 2016. arXiv:1510.00149',
    url: 'https://arxiv.org/abs/1510.00149',
  },
  pruning: {
    key: 'Han et al. 2015',
    text: 'S. Han, J. Pool, J. Tran, W. J. Dally. Learning both Weights and Connections for Efficient Neural Networks. NIPS 2015. arXiv:1506.02626',
    url: 'https://arxiv.org/abs/1506.02626',
  },
  distillation: {
    key: 'Hinton et al. 2015',
    text: 'G. Hinton, O. Vinyals, J. Dean. Distilling the Knowledge in a Neural Network. NIPS 2014 Deep Learning Workshop, 2015. arXiv:1503.02531',
    url: 'https://arxiv.org/abs/1503.02531',
  },
};

/** Deep Compression, Table 1 (errors, sizes), Tables 2-3 (per layer); pruning alone from Han et al. 2015, Table 1. */
export const deepCompression = {
  lenet300: {
    title: 'LeNet-300-100 (Deep Compression)',
    recipe: 'examples/deep-compression/lenet300.yaml',
    layers: [
      // modelpress layer name, the paper's name, kept fraction, bits of the shared weights
      { layer: 'dense1', paper: 'fc1', kept: 0.08, bits: 6 },
      { layer: 'dense2', paper: 'fc2', kept: 0.09, bits: 6 },
      { layer: 'dense3', paper: 'fc3', kept: 0.26, bits: 6 },
    ],
    params: 266_610,
    baselineErrorPct: 1.64,
    prunedErrorPct: 1.59, // Han et al. 2015 (pruning only, 12x fewer parameters)
    prunedReduction: 12,
    finalErrorPct: 1.58,
    baselineKB: 1070,
    finalKB: 27,
    compression: 40,
    keptTotal: 0.08,
    sources: { table: 'Tables 1 and 2' },
    targets: { maxErrorPct: 1.7, minPackedRatio: 40, minBrotliRatio: 30 },
  },
  lenet5: {
    title: 'LeNet-5 (Deep Compression)',
    recipe: 'examples/deep-compression/lenet5.yaml',
    layers: [
      { layer: 'conv1', paper: 'conv1', kept: 0.66, bits: 8 },
      { layer: 'conv2', paper: 'conv2', kept: 0.12, bits: 8 },
      { layer: 'dense1', paper: 'fc1', kept: 0.08, bits: 5 },
      { layer: 'dense2', paper: 'fc2', kept: 0.19, bits: 5 },
    ],
    params: 431_080,
    baselineErrorPct: 0.8,
    prunedErrorPct: 0.77,
    prunedReduction: 12,
    finalErrorPct: 0.74,
    baselineKB: 1720,
    finalKB: 44,
    compression: 39,
    keptTotal: 0.08,
    sources: { table: 'Tables 1 and 3' },
    targets: { maxErrorPct: 0.9, minPackedRatio: 39, minBrotliRatio: null },
  },
};

/** Hinton et al. 2015, section 3 (MNIST): test errors out of 10,000. */
export const distillation = {
  title: 'Knowledge distillation on MNIST (Hinton et al. 2015)',
  recipe: 'examples/distillation/mnist.yaml',
  testExamples: 10_000,
  teacher: { description: '2 x 1200 ReLU, dropout, jittered inputs', errors: 67 },
  student: { description: '2 x 800 ReLU, no regularisation', errors: 146 },
  distilled: { description: '2 x 800, distilled at T = 20', errors: 74, temperature: 20 },
  targets: { minReductionPct: 30 },
};

/** The cached re-run of a recipe must take less than this (whole process, milliseconds). */
export const cachedRerunTargetMs = 3000;
