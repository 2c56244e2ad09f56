using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Assp.Checks.Checks;

/// <summary>
/// DoTransliterate: non-Roman text spelled in plain ASCII letters (Chinese as pinyin, Cyrillic and Greek in Latin
/// letters, accents dropped), so the bomb regexes written in ASCII also catch spam written in other scripts. ASSP
/// uses Perl's Text::Unidecode; here ICU's "Any-Latin; Latin-ASCII" transform does the same job (libicu ships with
/// every .NET installation on Linux). Without ICU only accents, ligatures and the like are reduced to ASCII.
/// </summary>
public static class Transliteration
{
    private const string TransformId = "Any-Latin; Latin-ASCII";
    private static readonly Lazy<IcuTransliterator?> Icu = new(IcuTransliterator.TryCreate);

    /// <summary>Whether the full (ICU) transliteration is available; otherwise only Latin accents are reduced.</summary>
    public static bool HasFullTransliteration => Icu.Value is not null;

    /// <summary>The text in ASCII letters, or null when that gives the same text (nothing to add to the search).</summary>
    public static string? ToAscii(string text)
    {
        if (string.IsNullOrEmpty(text) || Ascii.IsValid(text)) return null;
        var result = Icu.Value?.Transliterate(text) ?? Reduce(text);
        return result is null || string.Equals(result, text, StringComparison.Ordinal) ? null : result;
    }

    /// <summary>Base letters of U+00C0…U+017F (Latin-1 and Latin Extended-A) without their accents; '?' where none fits.</summary>
    private const string LatinBase =
        "AAAAAA?CEEEEIIII?NOOOOO??UUUUY??aaaaaa?ceeeeiiii?nooooo??uuuuy?yAaAaAaCcCcCcCcDd??EeEeEeEeEeGgGgGgGgHh??IiIiIiIiI???JjKk?LlLlLl????NnNnNn???OoOoOo??RrRrRrSsSsSsSsTtTt??UuUuUuUuUuUuWwYyYZzZzZz?";

    /// <summary>The fallback (no ICU): accented Latin letters lose their accents, a few letters are spelled out; other scripts stay.</summary>
    internal static string Reduce(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text)
        {
            if (ch is >= '\u00C0' and <= '\u017F' && LatinBase[ch - '\u00C0'] is var b && b != '?')
            {
                sb.Append(b);
                continue;
            }
            sb.Append(ch switch
            {
                'ß' => "ss", 'æ' => "ae", 'Æ' => "AE", 'œ' => "oe", 'Œ' => "OE", 'ø' => "o", 'Ø' => "O",
                'đ' => "d", 'Đ' => "D", 'ł' => "l", 'Ł' => "L", 'þ' => "th", 'Þ' => "TH", 'ð' => "d", 'Ð' => "D",
                _ => ch.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>ICU's utrans C API, loaded by hand (the runtime runs with invariant globalization and does not load ICU itself).</summary>
    private sealed class IcuTransliterator
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate IntPtr OpenU([In] ushort[] id, int idLength, int direction, IntPtr rules, int rulesLength,
            IntPtr parseError, ref int status);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate void TransUChars(IntPtr transliterator, [In, Out] ushort[] text, ref int textLength, int capacity, int start, ref int limit, ref int status);

        private const int BufferOverflow = 15;
        private readonly IntPtr _handle;
        private readonly TransUChars _trans;
        private readonly Lock _lock = new();

        private IcuTransliterator(IntPtr handle, TransUChars trans)
        {
            _handle = handle;
            _trans = trans;
        }

        public static IcuTransliterator? TryCreate()
        {
            if (OperatingSystem.IsWindows()) return null;
            foreach (var (library, suffix) in Candidates())
            {
                if (!NativeLibrary.TryLoad(library, out var lib)) continue;
                if (!NativeLibrary.TryGetExport(lib, "utrans_openU" + suffix, out var open)
                    || !NativeLibrary.TryGetExport(lib, "utrans_transUChars" + suffix, out var trans)) continue;
                int status = 0;
                var handle = Marshal.GetDelegateForFunctionPointer<OpenU>(open)(Utf16(TransformId), TransformId.Length, 0, IntPtr.Zero, 0, IntPtr.Zero, ref status);
                if (status > 0 || handle == IntPtr.Zero) continue;
                // Kept for the life of the process: one transform serves every message.
                return new IcuTransliterator(handle, Marshal.GetDelegateForFunctionPointer<TransUChars>(trans));
            }
            return null;
        }

        /// <summary>libicui18n of the versions a current system may have; the exports carry the version as a suffix.</summary>
        private static IEnumerable<(string Library, string Suffix)> Candidates()
        {
            for (int v = 90; v >= 50; v--)
            {
                var s = v.ToString(CultureInfo.InvariantCulture);
                yield return ($"libicui18n.so.{s}", "_" + s);
            }
            yield return ("libicui18n.dylib", "");
            yield return ("libicucore.dylib", "");
        }

        /// <summary>ICU's UChar strings are UTF-16 code units.</summary>
        private static ushort[] Utf16(string s)
        {
            var units = new ushort[s.Length + 1];
            for (int i = 0; i < s.Length; i++) units[i] = s[i];
            return units;
        }

        public string? Transliterate(string text)
        {
            int capacity = text.Length * 4 + 16;
            for (int attempt = 0; attempt < 4; attempt++)
            {
                var buffer = new ushort[capacity];
                for (int i = 0; i < text.Length; i++) buffer[i] = text[i];
                int length = text.Length, limit = text.Length, status = 0;
                lock (_lock) _trans(_handle, buffer, ref length, capacity, 0, ref limit, ref status);
                if (status == BufferOverflow || length > capacity)
                {
                    capacity = Math.Max(capacity * 2, length + 16);
                    continue;
                }
                if (status > 0) return null;
                var chars = new char[length];
                for (int i = 0; i < length; i++) chars[i] = (char)buffer[i];
                return new string(chars);
            }
            return null;
        }
    }
}
