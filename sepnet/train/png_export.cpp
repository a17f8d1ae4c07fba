#include "sepnet/train/png_export.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "sepnet/core/io/atomic_file.h"

#ifdef SEPNET_HAVE_RSVG
#include <cairo.h>
#include <librsvg/rsvg.h>
#endif

namespace sepnet {
namespace {

constexpr const char* kNoRsvg =
    "sepnet was built without librsvg (pkg-config librsvg-2.0 not found; Debian: librsvg2-dev), so no PNG is "
    "written beside the SVG pictures";

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the SVG to render it as PNG");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return s;
}

#ifdef SEPNET_HAVE_RSVG
struct GObjectUnref {
  void operator()(RsvgHandle* h) const { g_object_unref(h); }
};
struct SurfaceDestroy {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoDestroy {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

std::string take_message(GError* error) {
  std::string m = error ? error->message : "unknown error";
  if (error) g_error_free(error);
  return m;
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

std::string render_png(const std::string& svg_path, const std::string& svg) {
  GError* error = nullptr;
  std::unique_ptr<RsvgHandle, GObjectUnref> handle(
      rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &error));
  if (!handle) throw std::runtime_error(svg_path + ": not a valid SVG: " + take_message(error));
  double width = 0, height = 0;
  if (!rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &width, &height) || !(width >= 1) || !(height >= 1) ||
      width > 16384 || height > 16384)
    throw std::runtime_error(svg_path + ": the SVG has no pixel size (width and height in px, 1..16384) to render at");
  const int w = static_cast<int>(std::ceil(width)), h = static_cast<int>(std::ceil(height));
  std::unique_ptr<cairo_surface_t, SurfaceDestroy> surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h));
  std::unique_ptr<cairo_t, CairoDestroy> cr(cairo_create(surface.get()));
  // Opaque white under the picture: a transparent PNG reads as black in some terminals.
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  const RsvgRectangle viewport{0, 0, width, height};
  if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error))
    throw std::runtime_error(svg_path + ": cannot render the SVG: " + take_message(error));
  std::string png;
  if (cairo_surface_write_to_png_stream(surface.get(), append_to_string, &png) != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error(svg_path + ": cannot encode the PNG");
  return png;
}
#endif

}  // namespace

bool png_supported(std::string* why) {
#ifdef SEPNET_HAVE_RSVG
  (void)why;
  return true;
#else
  if (why) *why = kNoRsvg;
  return false;
#endif
}

std::optional<std::string> write_png_beside(const std::string& svg_path) {
#ifdef SEPNET_HAVE_RSVG
  const std::string png = render_png(svg_path, read_whole(svg_path));
  const std::string png_path = std::filesystem::path(svg_path).replace_extension(".png").string();
  write_file_atomically(png_path, png);
  return png_path;
#else
  (void)read_whole(svg_path);  // the same error for a missing SVG with or without PNG support
  static std::once_flag said;
  std::call_once(said, [] { std::fprintf(stderr, "note: %s\n", kNoRsvg); });
  return std::nullopt;
#endif
}

}  // namespace sepnet
