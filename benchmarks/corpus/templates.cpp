// simdlens benchmark corpus: C++ templates as ML and image code writes them (issue 14). Written for this
// project: members of class templates instantiated explicitly, by a variable and by an alias, members
// defined outside their class, function templates called with deduced arguments, a member function
// template, and a template used with two element types.
#include <cstddef>
#include <cstdint>
#include <vector>

template <typename T>
struct Tensor {
    T *data;
    std::size_t n;
    void add_(const Tensor &o);
    void scale_(T k);
    void relu_();
    T sum() const;
    void fma_(const Tensor &a, const Tensor &b);
};

// bench: domain=ml category=elementwise expect=vectorizable_with_checks style=template
template <typename T>
void Tensor<T>::add_(const Tensor &o)
{
    for (std::size_t i = 0; i < n; ++i)
        data[i] += o.data[i];
}

// bench: domain=ml category=elementwise expect=vectorizable style=template
template <typename T>
void Tensor<T>::scale_(T k)
{
    for (std::size_t i = 0; i < n; ++i)
        data[i] *= k;
}

// bench: domain=ml category=select expect=vectorizable style=template
template <typename T>
void Tensor<T>::relu_()
{
    for (std::size_t i = 0; i < n; ++i)
        data[i] = data[i] > T(0) ? data[i] : T(0);
}

// bench: domain=ml category=reduction expect=vectorizable style=template
template <typename T>
T Tensor<T>::sum() const
{
    T s = T(0);
    for (std::size_t i = 0; i < n; ++i)
        s += data[i];
    return s;
}

// bench: domain=ml category=elementwise expect=vectorizable_with_checks style=template
template <typename T>
void Tensor<T>::fma_(const Tensor &a, const Tensor &b)
{
    for (std::size_t i = 0; i < n; ++i)
        data[i] += a.data[i] * b.data[i];
}

template struct Tensor<float>;

template <typename P>
struct Plane {
    std::vector<P> px;
    int width, height;
    void threshold(P t, P hi);
    void clamp_to(P lo, P hi);
};

// bench: domain=image category=select expect=vectorizable style=template
template <typename P>
void Plane<P>::threshold(P t, P hi)
{
    for (std::size_t i = 0; i < px.size(); ++i)
        px[i] = px[i] > t ? hi : P(0);
}

// bench: domain=image category=select expect=vectorizable style=template
template <typename P>
void Plane<P>::clamp_to(P lo, P hi)
{
    for (std::size_t i = 0; i < px.size(); ++i)
        px[i] = px[i] < lo ? lo : (px[i] > hi ? hi : px[i]);
}

using Mask16 = Plane<int16_t>;

void binarize(Plane<uint8_t> &img, uint8_t t)
{
    img.threshold(t, 255);
}

// bench: domain=ml category=elementwise expect=vectorizable style=template
template <class T>
void axpy_t(T *__restrict y, const T *__restrict x, T a, int n)
{
    for (int i = 0; i < n; ++i)
        y[i] += a * x[i];
}

// bench: domain=ml category=reduction expect=vectorizable style=template
template <class T>
T dot_t(const T *__restrict a, const T *__restrict b, int n)
{
    T acc = 0;
    for (int i = 0; i < n; ++i)
        acc += a[i] * b[i];
    return acc;
}

// bench: domain=image category=conversion expect=vectorizable style=template
template <class Src, class Dst>
void widen_t(Dst *__restrict out, const Src *__restrict in, int n)
{
    for (int i = 0; i < n; ++i)
        out[i] = static_cast<Dst>(in[i]);
}

// bench: domain=ml category=elementwise expect=vectorizable style=template
template <class T>
void square_t(T *__restrict out, const T *__restrict in, int n)
{
    for (int i = 0; i < n; ++i)
        out[i] = in[i] * in[i];
}

struct Histo {
    int bins[256];
    template <class U> void offset_all(U *__restrict v, U d, int n);
};

// bench: domain=image category=elementwise expect=vectorizable style=template
template <class U>
void Histo::offset_all(U *__restrict v, U d, int n)
{
    for (int i = 0; i < n; ++i)
        v[i] = v[i] + d;
}

double model_step(float *buf, const float *w, double *dacc, const double *dw, int16_t *q, const uint8_t *pix,
                  int *wide, int n, Mask16 &mask)
{
    axpy_t(buf, w, 0.5f, n);
    float f = dot_t(buf, w, n);
    widen_t(wide, pix, n);
    square_t(dacc, dw, n);
    square_t(buf, w, n);
    Histo h;
    h.offset_all(q, static_cast<int16_t>(3), n);
    mask.clamp_to(-100, 100);
    return f + dot_t(dacc, dw, n);
}
