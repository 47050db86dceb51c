/* simdlens benchmark corpus: argmax over a matrix and over a column (issue 16, 2-D reductions): the
   position of the largest element, the first one on ties; with a row index set beside the column index
   (`xindex = i; yindex = j;`). Written for this project. */
#include <stddef.h>
#include <stdint.h>

// bench: domain=families category=argmax_2d expect=vectorizable
long hottest_cell(const float *temperature, int rows, int cols)
{
    float best = temperature[0];
    long at = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            if (temperature[(long)r * cols + c] > best) {
                best = temperature[(long)r * cols + c];
                at = (long)r * cols + c;
            }
    return at;
}

// bench: domain=families category=argmax_2d expect=vectorizable
int loudest_band(const int32_t *energy, int frames, int bands)
{
    int32_t best = energy[0];
    int at = 0;
    for (int f = 0; f < frames; f++)
        for (int b = 0; b < bands; b++)
            if (energy[f * bands + b] > best) {
                best = energy[f * bands + b];
                at = f * bands + b;
            }
    return at;
}

// bench: domain=families category=argmax_2d expect=vectorizable
void best_class_per_row(int32_t *restrict label, const float *restrict score, int rows, int classes)
{
    for (int r = 0; r < rows; r++) {
        const float *row = score + (size_t)r * classes;
        float best = row[0];
        int32_t at = 0;
        for (int k = 1; k < classes; k++)
            if (row[k] > best) {
                best = row[k];
                at = k;
            }
        label[r] = at;
    }
}

#define GRID 256
float heat[GRID][GRID];

// bench: domain=families category=argmax_2d expect=vectorizable
float hottest_row_and_column(int *row, int *col)
{
    float best = heat[0][0];
    int r = 0, c = 0;
    for (int y = 0; y < GRID; y++)
        for (int x = 0; x < GRID; x++)
            if (heat[y][x] > best) {
                best = heat[y][x];
                r = y;
                c = x;
            }
    *row = r;
    *col = c;
    return best;
}

// bench: domain=families category=argmax_2d expect=vectorizable
int coldest_station(int *day_out, const float (*reading)[24], int days)
{
    float low = reading[0][0];
    int day = 0, hour = 0;
    for (int d = 0; d < days; d++)
        for (int h = 0; h < 24; h++)
            if (reading[d][h] < low) {
                low = reading[d][h];
                day = d;
                hour = h;
            }
    *day_out = day;
    return hour;
}
