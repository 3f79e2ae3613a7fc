using System.Numerics.Tensors;

namespace Aim.Intent.Onnx.Training;

/// <summary>
/// Binary logistic regression with an L2 penalty (not on the bias), fitted by Newton's method with a Cholesky solve:
/// deterministic (fixed iteration order, no random start), and exact enough for a few hundred features.
/// </summary>
internal static class LogisticRegression
{
    /// <summary>Fits weights and a bias. Rows of <paramref name="x"/> all have the same width.</summary>
    public static (double[] Weights, double Bias) Fit(IReadOnlyList<double[]> x, IReadOnlyList<bool> y, double lambda, int iterations = 12)
    {
        var n = x.Count;
        var width = x[0].Length;
        var size = width + 1;   // the last coefficient is the bias
        var beta = new double[size];
        var hessian = new double[size * size];
        var gradient = new double[size];
        var row = new double[size];
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            Array.Clear(hessian);
            Array.Clear(gradient);
            for (var i = 0; i < n; i++)
            {
                x[i].CopyTo(row, 0);
                row[width] = 1;
                var p = Sigmoid(TensorPrimitives.Dot<double>(row, beta));
                var residual = p - (y[i] ? 1 : 0);
                var weight = Math.Max(p * (1 - p), 1e-10);
                TensorPrimitives.MultiplyAdd<double>(row, residual, gradient, gradient);
                for (var k = 0; k < size; k++)
                {
                    if (row[k] != 0)
                    {
                        var scaled = weight * row[k];
                        var target = hessian.AsSpan(k * size, size);
                        TensorPrimitives.MultiplyAdd<double>(row, scaled, target, target);
                    }
                }
            }

            for (var k = 0; k < width; k++)
            {
                gradient[k] += lambda * beta[k];
                hessian[(k * size) + k] += lambda;
            }

            hessian[(width * size) + width] += 1e-9;   // keeps the bias's pivot positive on separable data
            var step = CholeskySolve(hessian, gradient, size);
            TensorPrimitives.Subtract<double>(beta, step, beta);
            if (TensorPrimitives.MaxMagnitude<double>(step) < 1e-9)
            {
                break;
            }
        }

        return (beta[..width], beta[width]);
    }

    public static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private static double[] CholeskySolve(double[] a, double[] b, int n)
    {
        var l = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[(i * n) + j];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[(i * n) + k] * l[(j * n) + k];
                }

                l[(i * n) + j] = i == j ? Math.Sqrt(Math.Max(sum, 1e-12)) : sum / l[(j * n) + j];
            }
        }

        var z = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++)
            {
                sum -= l[(i * n) + k] * z[k];
            }

            z[i] = sum / l[(i * n) + i];
        }

        var result = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = z[i];
            for (var k = i + 1; k < n; k++)
            {
                sum -= l[(k * n) + i] * result[k];
            }

            result[i] = sum / l[(i * n) + i];
        }

        return result;
    }
}
