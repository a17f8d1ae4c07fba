#pragma once
// PNG copies of the SVG pictures sepnet writes, for terminals and image viewers without SVG.
// Rendered by librsvg + cairo when the build found them (pkg-config librsvg-2.0, Debian
// librsvg2-dev); without them only the SVG is written.

#include <optional>
#include <string>

namespace sepnet {

// Whether this build renders PNG; when not, `why` (if given) receives the reason.
bool png_supported(std::string* why = nullptr);

// Renders the SVG file at `svg_path` at its own pixel size (its width and height attributes)
// and writes the PNG atomically beside it: same path with the extension replaced by ".png".
// Returns that path, or nullopt when this build has no PNG support (the reason is printed to
// stderr once per process). Throws std::runtime_error naming the file when the SVG cannot be
// read or parsed, has no pixel size, or the PNG cannot be written.
std::optional<std::string> write_png_beside(const std::string& svg_path);

}  // namespace sepnet
