/**
 * MobileNetV2 defined with the tfjs layers API exactly as
 * keras.applications.MobileNetV2 defines it (keras/applications/
 * mobilenet_v2.py; the stem as in keras-applications 1.0.8, which pads
 * explicitly): same layer classes, order, hyperparameters and names, so the
 * model.json a tfjs-converter user gets from Keras and the one written here
 * describe the same graph.
 *
 *   Conv1_pad (ZeroPadding2D) -> Conv1 (3x3/2, valid, no bias) -> bn_Conv1 -> Conv1_relu (ReLU max 6)
 *   expanded_conv_: depthwise 3x3 -> BN -> ReLU6 -> project 1x1 -> BN      (block 0, expansion 1)
 *   block_{i}_: expand 1x1 -> BN -> ReLU6 -> [pad if stride 2] -> depthwise 3x3 -> BN -> ReLU6
 *               -> project 1x1 -> BN -> [add if stride 1 and same channels]
 *   Conv_1 (1x1 to 1280, or 1280*alpha when alpha > 1) -> Conv_1_bn -> out_relu
 *   -> global_average_pooling2d -> predictions (Dense softmax)
 *
 * BatchNormalization uses Keras' epsilon 1e-3 and momentum 0.999.
 * Not modelpress code: a user's model definition, kept beside the script
 * that trains it (make-model.mjs). `tf` is passed in, so this file loads
 * whichever tfjs the caller runs.
 */

/** keras.applications' _make_divisible: round to a multiple of `divisor`, never down by more than 10%. */
export function makeDivisible(v, divisor = 8, minValue = divisor) {
  let out = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** keras.applications' imagenet_utils.correct_pad for a 3x3 kernel: ((top, bottom), (left, right)). */
export function correctPad(height, width, kernel = 3) {
  const c = Math.floor(kernel / 2);
  return [[c - (1 - (height % 2)), c], [c - (1 - (width % 2)), c]];
}

/** The 17 inverted residual blocks of MobileNetV2: [filters, stride, expansion]. */
export const MOBILENET_V2_BLOCKS = [
  [16, 1, 1],
  [24, 2, 6], [24, 1, 6],
  [32, 2, 6], [32, 1, 6], [32, 1, 6],
  [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
  [96, 1, 6], [96, 1, 6], [96, 1, 6],
  [160, 2, 6], [160, 1, 6], [160, 1, 6],
  [320, 1, 6],
];

const BN = { epsilon: 1e-3, momentum: 0.999 };

/**
 * Builds the functional model.
 *
 * @param tf the '@tensorflow/tfjs' module
 * @param options.alpha width multiplier (Keras default 1.0)
 * @param options.inputShape [height, width, 3]
 * @param options.classes width of the softmax
 * @param options.blocks how many of MOBILENET_V2_BLOCKS to keep (default all 17;
 *   fewer makes the tiny test variant, same block code and names)
 * @param options.lastFilters filters of Conv_1 (default Keras' rule: 1280, or
 *   makeDivisible(1280 * alpha) when alpha > 1)
 * @param options.bnMomentum BatchNormalization momentum (default Keras' 0.999)
 */
export function mobileNetV2(tf, options) {
  const { alpha = 1.0, inputShape, classes, blocks = MOBILENET_V2_BLOCKS.length, bnMomentum = BN.momentum } = options;
  const bn = (name) => tf.layers.batchNormalization({ axis: -1, epsilon: BN.epsilon, momentum: bnMomentum, name });
  const relu6 = (name) => tf.layers.reLU({ maxValue: 6, name });

  const input = tf.input({ shape: inputShape, name: 'input_1' });
  const firstFilters = makeDivisible(32 * alpha, 8);
  let x = tf.layers.zeroPadding2d({ padding: correctPad(inputShape[0], inputShape[1]), name: 'Conv1_pad' }).apply(input);
  x = tf.layers.conv2d({ filters: firstFilters, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'Conv1' }).apply(x);
  x = bn('bn_Conv1').apply(x);
  x = relu6('Conv1_relu').apply(x);

  MOBILENET_V2_BLOCKS.slice(0, blocks).forEach(([filters, stride, expansion], blockId) => {
    x = invertedResBlock(tf, x, { filters, alpha, stride, expansion, blockId, bn, relu6 });
  });

  const lastFilters = options.lastFilters ?? (alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280);
  x = tf.layers.conv2d({ filters: lastFilters, kernelSize: 1, useBias: false, name: 'Conv_1' }).apply(x);
  x = bn('Conv_1_bn').apply(x);
  x = relu6('out_relu').apply(x);
  x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
  const output = tf.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x);
  return tf.model({ inputs: input, outputs: output, name: `mobilenetv2_${alpha.toFixed(2)}_${inputShape[0]}` });
}

function invertedResBlock(tf, inputs, { filters, alpha, stride, expansion, blockId, bn, relu6 }) {
  const inChannels = inputs.shape[inputs.shape.length - 1];
  const pointwiseFilters = makeDivisible(Math.trunc(filters * alpha), 8);
  let prefix = `block_${blockId}_`;
  let x = inputs;
  if (blockId) {
    x = tf.layers.conv2d({ filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }).apply(x);
    x = bn(`${prefix}expand_BN`).apply(x);
    x = relu6(`${prefix}expand_relu`).apply(x);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) {
    x = tf.layers.zeroPadding2d({ padding: correctPad(x.shape[1], x.shape[2]), name: `${prefix}pad` }).apply(x);
  }
  x = tf.layers.depthwiseConv2d({
    kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise`,
  }).apply(x);
  x = bn(`${prefix}depthwise_BN`).apply(x);
  x = relu6(`${prefix}depthwise_relu`).apply(x);
  x = tf.layers.conv2d({ filters: pointwiseFilters, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }).apply(x);
  x = bn(`${prefix}project_BN`).apply(x);
  if (inChannels === pointwiseFilters && stride === 1) {
    return tf.layers.add({ name: `${prefix}add` }).apply([inputs, x]);
  }
  return x;
}
