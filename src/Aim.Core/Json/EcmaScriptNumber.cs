using System.Globalization;
using System.Text;

namespace Aim.Json;

/// <summary>
/// Formats a double the way ECMAScript's <c>Number.prototype.toString</c> does (ECMA-262 6.1.6.1.20),
/// which is what RFC 8785 prescribes for JSON numbers.
/// </summary>
internal static class EcmaScriptNumber
{
    /// <summary>Formats a finite double.</summary>
    /// <exception cref="CanonicalJsonException">The value is NaN or infinite.</exception>
    public static string Format(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new CanonicalJsonException("NaN and Infinity have no JSON representation.");
        }

        if (value == 0)
        {
            return "0"; // also for -0
        }

        // .NET's "R" gives the shortest digit string that round-trips, the same digits ECMAScript picks;
        // only the layout (where the point goes, exponent form) differs, so re-lay it out.
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = r[0] == '-';
        var body = negative ? r.AsSpan(1) : r.AsSpan();
        var exponent = 0;
        var e = body.IndexOfAny('E', 'e');
        if (e >= 0)
        {
            exponent = int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            body = body[..e];
        }

        var digits = new StringBuilder(24);
        var pointPosition = -1;
        foreach (var c in body)
        {
            if (c == '.')
            {
                pointPosition = digits.Length;
            }
            else
            {
                digits.Append(c);
            }
        }

        if (pointPosition < 0)
        {
            pointPosition = digits.Length;
        }

        // n: position of the decimal point relative to the first significant digit (ECMA-262's "n").
        var leadingZeros = 0;
        while (leadingZeros < digits.Length - 1 && digits[leadingZeros] == '0')
        {
            leadingZeros++;
        }

        digits.Remove(0, leadingZeros);
        var n = pointPosition - leadingZeros + exponent;
        var end = digits.Length;
        while (end > 1 && digits[end - 1] == '0')
        {
            end--;
        }

        digits.Length = end;
        var k = digits.Length;
        var s = digits.ToString();

        var sb = new StringBuilder(32);
        if (negative)
        {
            sb.Append('-');
        }

        if (k <= n && n <= 21)
        {
            sb.Append(s).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(s, 0, n).Append('.').Append(s, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(s);
        }
        else
        {
            sb.Append(s[0]);
            if (k > 1)
            {
                sb.Append('.').Append(s, 1, k - 1);
            }

            var exp = n - 1;
            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }
}
