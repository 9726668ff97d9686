// An aligned text table, as `shmq` and `shmq-stress` print them.
#pragma once

#include <string>
#include <vector>

namespace shmq::output {

// Columns separated by two spaces, each as wide as its widest cell; no trailing blanks. The
// title line is left out when every title is empty (a table of name/value rows).
class Table {
 public:
  enum class Align { left, right };
  struct Column {
    std::string title;
    Align align = Align::left;
  };

  explicit Table(std::vector<Column> columns);
  void add_row(std::vector<std::string> cells);  // missing cells are blank
  std::string render() const;

 private:
  std::string render_line(const std::vector<std::string>& cells,
                          const std::vector<std::size_t>& width) const;

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// `text` with `prefix` before each of its non-empty lines.
std::string indented(const std::string& text, const std::string& prefix);

}  // namespace shmq::output
