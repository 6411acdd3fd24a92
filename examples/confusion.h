// The confusion matrix behind the main job's metrics: accuracy for classification, and for
// dense prediction pixel accuracy and mean IoU (intersection over union per class, averaged
// over the classes that occur in the targets or the predictions, as torchmetrics'
// JaccardIndex). Targets equal to ignore_index count for nothing, as in the loss.
#pragma once

#include <ember/ember.h>

#include <vector>

namespace ember::examples {

class Confusion {
 public:
  explicit Confusion(int64_t classes) : classes_(classes), counts_(classes * classes, 0) {}

  /// Adds predictions (the logits' argmax over dim 1) against `target`, of the same shape.
  void add(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100) {
    NoGradGuard no_grad;
    Tensor predicted = argmax(logits, 1).contiguous(), t = target.contiguous();
    const int64_t *p = predicted.data_ptr<int64_t>(), *q = t.data_ptr<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i)
      if (q[i] != ignore_index) ++counts_[q[i] * classes_ + p[i]];
  }

  /// Every rank's counts added up, through `sum` (Ranks::sum).
  template <typename Sum>
  void sum_over(const Sum& sum) {
    std::vector<double> all(counts_.begin(), counts_.end());
    sum(all);
    for (size_t i = 0; i < all.size(); ++i) counts_[i] = static_cast<int64_t>(all[i]);
  }

  int64_t total() const {
    int64_t n = 0;
    for (int64_t c : counts_) n += c;
    return n;
  }
  /// Predictions counted with target k.
  int64_t target_count(int64_t k) const {
    int64_t n = 0;
    for (int64_t j = 0; j < classes_; ++j) n += counts_[k * classes_ + j];
    return n;
  }
  double accuracy() const {
    int64_t right = 0;
    for (int64_t k = 0; k < classes_; ++k) right += counts_[k * classes_ + k];
    return total() ? static_cast<double>(right) / total() : 0.0;
  }
  double iou(int64_t k) const {
    int64_t tp = counts_[k * classes_ + k], predicted = 0;
    for (int64_t j = 0; j < classes_; ++j) predicted += counts_[j * classes_ + k];
    int64_t union_ = target_count(k) + predicted - tp;
    return union_ ? static_cast<double>(tp) / union_ : -1;  // -1: the class never occurred
  }
  double mean_iou() const {
    double sum = 0;
    int present = 0;
    for (int64_t k = 0; k < classes_; ++k)
      if (double v = iou(k); v >= 0) sum += v, ++present;
    return present ? sum / present : 0.0;
  }

 private:
  int64_t classes_;
  std::vector<int64_t> counts_;  // row: target, column: prediction
};

}  // namespace ember::examples
