// OrderedDict: libtorch's ordered dictionary, what Module::named_parameters() and its kin return.
// Entries keep their insertion order (PyTorch's parameter order), are reached by position or by
// key, and each entry reads either way a user expects: item.key() / item.value() as libtorch
// spells them, item.first / item.second as a std::pair, or auto& [name, tensor] = item.
// Read next: nn/module.h.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "error.h"

namespace ember {

template <typename Key, typename Value>
class OrderedDict {
 public:
  /// One entry: a std::pair with libtorch's key() and value() beside first and second.
  struct Item : std::pair<Key, Value> {
    using std::pair<Key, Value>::pair;
    const Key& key() const { return this->first; }
    Value& value() { return this->second; }
    const Value& value() const { return this->second; }
    const std::pair<Key, Value>& pair() const { return *this; }
  };

  /// Adds an entry at the end; a key already present is an ember::Error.
  Value& insert(Key key, Value value) {
    if (contains(key)) fail("OrderedDict: key '", key, "' is already present");
    index_.emplace(key, items_.size());
    items_.push_back(Item(std::move(key), std::move(value)));
    return items_.back().second;
  }

  /// The value under `key`; a missing key is an ember::Error naming it.
  Value& operator[](const Key& key) { return items_[position(key)].second; }
  const Value& operator[](const Key& key) const { return items_[position(key)].second; }
  /// The entry at `index`, in insertion order.
  Item& operator[](size_t index) { return items_.at(index); }
  const Item& operator[](size_t index) const { return items_.at(index); }
  /// The value under `key`, or nullptr.
  Value* find(const Key& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  bool contains(const Key& key) const { return index_.count(key) != 0; }

  std::vector<Key> keys() const {
    std::vector<Key> out;
    for (const Item& item : items_) out.push_back(item.first);
    return out;
  }
  std::vector<Value> values() const {
    std::vector<Value> out;
    for (const Item& item : items_) out.push_back(item.second);
    return out;
  }
  const std::vector<Item>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool is_empty() const { return items_.empty(); }
  bool empty() const { return items_.empty(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  Item& front() { return items_.front(); }
  Item& back() { return items_.back(); }

 private:
  size_t position(const Key& key) const {
    auto it = index_.find(key);
    if (it == index_.end()) fail("OrderedDict: no key '", key, "'");
    return it->second;
  }
  std::vector<Item> items_;
  std::unordered_map<Key, size_t> index_;
};

}  // namespace ember
