#include "output/table.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace shmq::output {

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render_line(const std::vector<std::string>& cells,
                               const std::vector<std::size_t>& width) const {
  std::string line;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (c != 0) line += "  ";
    if (columns_[c].align == Align::right) {
      line += fmt::format("{:>{}}", cells[c], width[c]);
    } else {
      line += fmt::format("{:<{}}", cells[c], width[c]);
    }
  }
  while (!line.empty() && line.back() == ' ')
    line.pop_back();
  return line + '\n';
}

std::string Table::render() const {
  std::vector<std::string> titles;
  std::vector<std::size_t> width;
  for (const Column& column : columns_) {
    titles.push_back(column.title);
    width.push_back(column.title.size());
  }
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < columns_.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  const bool titled =
      std::any_of(titles.begin(), titles.end(), [](const std::string& t) { return !t.empty(); });
  std::string out = titled ? render_line(titles, width) : std::string();
  for (const auto& row : rows_)
    out += render_line(row, width);
  return out;
}

std::string indented(const std::string& text, const std::string& prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (end > start) out += prefix;
    out.append(text, start, end - start);
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace shmq::output
