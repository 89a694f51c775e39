/**
 * The knowledge-distillation loss of Hinton, Vinyals & Dean, "Distilling the
 * Knowledge in a Neural Network" (2015), on logits:
 *
 *   L = alpha * CE(y, softmax(z_s)) + (1 - alpha) * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))
 *
 * averaged over the batch. The hard term uses temperature 1 (the paper: "the
 * second objective function is the cross entropy with the correct labels ...
 * computed using exactly the same logits in softmax of the distilled model but
 * at a temperature of 1"). The T^2 factor keeps the soft term's gradient,
 * which scales as 1/T^2, comparable across temperatures:
 *
 *   dL/dz_s = alpha * (softmax(z_s) - y) + (1 - alpha) * T * (softmax(z_s / T) - softmax(z_t / T))
 *
 * per example (divided by the batch size for the mean). KL rather than the
 * paper's cross-entropy with soft targets: they differ by the teacher's
 * entropy, a constant for the student, so gradients are the same, and KL is 0
 * when the student matches the teacher, which makes the logged loss readable.
 * Log-softmax throughout, so no log(0) can appear even when a softened
 * probability underflows.
 */
import type { Scalar, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../engine/tf.js';

export interface DistillLossOptions {
  /** T > 0: softens both distributions in the soft term. */
  temperature: number;
  /** Weight of the hard-label term, 0..1; the soft term gets 1 - alpha. */
  alpha: number;
}

/**
 * `studentLogits`, `teacherLogits`: [batch, classes]; `labels`: one-hot
 * [batch, classes]. Meant to be differentiated in `studentLogits` (or the
 * student's variables); the teacher's logits are targets, so callers take
 * gradients only with respect to the student.
 */
export function distillationLoss(tf: Tf, studentLogits: Tensor, teacherLogits: Tensor, labels: Tensor, o: DistillLossOptions): Scalar {
  const T = o.temperature;
  return tf.tidy(() => {
    const hard = tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(studentLogits)), -1));
    const logTeacher = tf.logSoftmax(tf.div(teacherLogits, T));
    const logStudent = tf.logSoftmax(tf.div(studentLogits, T));
    const kl = tf.sum(tf.mul(tf.exp(logTeacher), tf.sub(logTeacher, logStudent)), -1);
    return tf.mean(tf.add(tf.mul(hard, o.alpha), tf.mul(kl, (1 - o.alpha) * T * T))) as Scalar;
  });
}
