/**
 * An expected failure of the TFLite export: a layer or option the exporter
 * cannot express. It names the layer (and its class) and lists what is
 * supported, and is raised while the graph is built, before anything is
 * written. The export stage turns it into a located diagnostic.
 */
export class TfliteExportError extends Error {
  override readonly name = 'TfliteExportError';
  constructor(
    /** The Keras layer name. */
    readonly layer: string,
    /** The layer's class (Dense, Conv2D, ...). */
    readonly className: string,
    message: string,
    readonly hints: string[] = [],
  ) {
    super(message);
  }
}

/** The Keras layers the exporter maps to TFLite operators (docs/tflite.md). */
export const SUPPORTED_LAYERS: readonly string[] = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Activation',
  'ReLU',
  'Softmax',
  'Add',
  'Concatenate',
  'ZeroPadding2D',
  'BatchNormalization',
  'Dropout',
];

/** Activations a layer may carry: fused (relu, relu6), a SOFTMAX op (softmax), or none (linear). */
export const SUPPORTED_ACTIVATIONS: readonly string[] = ['linear', 'relu', 'relu6', 'softmax'];
