// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// ipchub::Span<T>: a pointer and a size, what SharedMemory hands out for its mapping.
// It is the library's own type, the same whatever standard a program is built with:
// from C++17 on it reads like std::span (data, size, indexing, iteration, first, last,
// subspan), and under C++20 a std::span converts from it (it is a borrowed contiguous
// range), so `std::span<std::byte> bytes = shm->data();` works there.

#include <cstddef>
#include <type_traits>

#if __has_include(<version>)
#include <version>
#endif
#if defined(__cpp_lib_ranges)
#include <ranges>
#endif

namespace ipchub {

template <typename T>
class Span
{
public:
	using element_type = T;
	using value_type = std::remove_cv_t<T>;
	using size_type = std::size_t;
	using pointer = T *;
	using reference = T &;
	using iterator = T *;

	constexpr Span() noexcept = default;
	constexpr Span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}
	// A view of mutable elements is a view of const ones too.
	template <typename U,
		  typename = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
	constexpr Span(Span<U> other) noexcept : data_(other.data()), size_(other.size())
	{
	}

	constexpr T *data() const noexcept { return data_; }
	constexpr std::size_t size() const noexcept { return size_; }
	constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
	constexpr bool empty() const noexcept { return size_ == 0; }
	// Unchecked, as std::span's: index < size().
	constexpr T &operator[](std::size_t index) const noexcept { return data_[index]; }
	constexpr T *begin() const noexcept { return data_; }
	constexpr T *end() const noexcept { return data_ + size_; }

	// The first or last count elements, or count elements from offset (the rest when
	// count is npos); like std::span, unchecked: they must lie within the view.
	static constexpr std::size_t npos = static_cast<std::size_t>(-1);
	constexpr Span first(std::size_t count) const noexcept { return {data_, count}; }
	constexpr Span last(std::size_t count) const noexcept
	{
		return {data_ + (size_ - count), count};
	}
	constexpr Span subspan(std::size_t offset, std::size_t count = npos) const noexcept
	{
		return {data_ + offset, count == npos ? size_ - offset : count};
	}

private:
	T *data_ = nullptr;
	std::size_t size_ = 0;
};

} // namespace ipchub

#if defined(__cpp_lib_ranges)
// A Span does not own what it shows: a std::span may outlive the Span it came from.
namespace std::ranges {
template <typename T>
inline constexpr bool enable_borrowed_range<ipchub::Span<T>> = true;
} // namespace std::ranges
#endif
