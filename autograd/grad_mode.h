// Grad mode: the thread-local switch that decides whether ops record the graph, and anomaly
// mode, which checks every gradient for NaN/Inf. Read next: node.h.
#pragma once

namespace ember {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// While alive, ops on this thread record nothing (inference, optimizer and init updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// libtorch's c10::InferenceMode, for code written with it: in ember the same as NoGradGuard
/// (ember keeps no bookkeeping beyond the graph that inference could skip); with false, nothing.
class InferenceMode {
 public:
  explicit InferenceMode(bool enabled = true) : previous_(GradMode::is_enabled()) {
    if (enabled) GradMode::set_enabled(false);
  }
  ~InferenceMode() { GradMode::set_enabled(previous_); }
  InferenceMode(const InferenceMode&) = delete;
  InferenceMode& operator=(const InferenceMode&) = delete;

 private:
  bool previous_;
};

/// While alive, ops on this thread record again, even inside a NoGradGuard.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

namespace autograd {

struct AnomalyMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// While alive, every backward on this thread checks each gradient it produces and raises an
/// ember::Error naming the node (the forward op) whose backward made a NaN or Inf.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : previous_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace autograd
}  // namespace ember
