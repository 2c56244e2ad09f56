using System.Diagnostics;
using System.Text;

namespace Assp.LoadBench;

/// <summary>One message ready to send: its MAIL commands and its DATA payload in wire form.</summary>
internal sealed class CorpusMessage
{
    public CorpusMessage(string name, string mailFrom, ReadOnlySpan<byte> raw)
    {
        Name = name;
        MailFrom = mailFrom;
        Wire = Corpus.ToSmtpData(raw);
        Has8Bit = raw.ContainsAnyExceptInRange((byte)0, (byte)127);
        MailCommand = Encoding.ASCII.GetBytes($"MAIL FROM:<{mailFrom}>\r\n");
        MailCommand8Bit = Encoding.ASCII.GetBytes($"MAIL FROM:<{mailFrom}> BODY=8BITMIME\r\n");
    }

    public string Name { get; }
    public string MailFrom { get; }

    /// <summary>CRLF line endings, dot-stuffed, ending with the CRLF.CRLF terminator.</summary>
    public byte[] Wire { get; }

    /// <summary>Payload bytes without the final ".\r\n": what the throughput figures count.</summary>
    public int PayloadBytes => Wire.Length - 3;

    public bool Has8Bit { get; }
    public byte[] MailCommand { get; }
    public byte[] MailCommand8Bit { get; }
}

/// <summary>Loads the SpamAssassin corpus exported by shared/corpus/extract.sh, or generates messages.</summary>
internal static class Corpus
{
    public const string FallbackSender = "loadbench@example.net";

    /// <summary>
    /// Converts a message with LF (or CRLF, or lone CR) line endings to the SMTP DATA form: every line ends with
    /// CRLF, lines starting with '.' get one more '.', and the ".\r\n" terminator follows the final CRLF.
    /// </summary>
    public static byte[] ToSmtpData(ReadOnlySpan<byte> raw)
    {
        // Pass 1: exact output length.
        int length = 0;
        bool lineStart = true;
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == (byte)'\r' || b == (byte)'\n')
            {
                if (b == (byte)'\r' && i + 1 < raw.Length && raw[i + 1] == (byte)'\n') i++;
                length += 2;
                lineStart = true;
                continue;
            }
            if (lineStart && b == (byte)'.') length++;
            length++;
            lineStart = false;
        }
        if (!lineStart) length += 2;
        length += 3;

        // Pass 2: write it.
        var wire = new byte[length];
        int o = 0;
        lineStart = true;
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == (byte)'\r' || b == (byte)'\n')
            {
                if (b == (byte)'\r' && i + 1 < raw.Length && raw[i + 1] == (byte)'\n') i++;
                wire[o++] = (byte)'\r';
                wire[o++] = (byte)'\n';
                lineStart = true;
                continue;
            }
            if (lineStart && b == (byte)'.') wire[o++] = (byte)'.';
            wire[o++] = b;
            lineStart = false;
        }
        if (!lineStart)
        {
            wire[o++] = (byte)'\r';
            wire[o++] = (byte)'\n';
        }
        wire[o++] = (byte)'.';
        wire[o++] = (byte)'\r';
        wire[o++] = (byte)'\n';
        Debug.Assert(o == length);
        return wire;
    }

    /// <summary>
    /// Reads the messages listed in DIR/manifest.tsv (column file, with mbox_from as the envelope sender), or every
    /// *.eml under DIR when there is no manifest. Sorted by path, so every run sends the same sequence.
    /// </summary>
    public static List<CorpusMessage> Load(string dir, int limit)
    {
        var entries = new List<(string File, string? From)>();
        string manifest = Path.Combine(dir, "manifest.tsv");
        if (File.Exists(manifest))
        {
            using var reader = new StreamReader(manifest, Encoding.Latin1);
            var header = (reader.ReadLine() ?? "").Split('\t');
            int fileCol = Array.IndexOf(header, "file");
            int fromCol = Array.IndexOf(header, "mbox_from");
            if (fileCol < 0) throw new InvalidDataException($"{manifest}: no 'file' column");
            for (string? line; (line = reader.ReadLine()) is not null;)
            {
                var cols = line.Split('\t');
                if (cols.Length <= fileCol || cols[fileCol].Length == 0) continue;
                entries.Add((cols[fileCol], fromCol >= 0 && fromCol < cols.Length ? cols[fromCol] : null));
            }
        }
        else
        {
            foreach (var path in Directory.EnumerateFiles(dir, "*.eml", SearchOption.AllDirectories))
                entries.Add((Path.GetRelativePath(dir, path), null));
        }
        entries.Sort((a, b) => string.CompareOrdinal(a.File, b.File));
        if (limit > 0 && entries.Count > limit) entries.RemoveRange(limit, entries.Count - limit);

        var messages = new List<CorpusMessage>(entries.Count);
        foreach (var (file, from) in entries)
        {
            var raw = File.ReadAllBytes(Path.Combine(dir, file));
            messages.Add(new CorpusMessage(file, UsableSender(from) ?? FallbackSender, raw));
        }
        return messages;
    }

    /// <summary>The mbox "From " address when it is a plain local@domain address, else null.</summary>
    internal static string? UsableSender(string? mboxFrom)
    {
        if (string.IsNullOrEmpty(mboxFrom) || mboxFrom == "-" || mboxFrom.Length > 200) return null;
        int at = mboxFrom.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at == mboxFrom.Length - 1) return null;
        foreach (char c in mboxFrom)
        {
            if (c <= ' ' || c >= 127 || c is '<' or '>' or '(' or ')' or ',' or ';' or '"' or '\\') return null;
        }
        return mboxFrom;
    }

    /// <summary>Messages made up here, for the self-test: varied sizes, leading dots, a lone "." line, 8-bit bytes.</summary>
    public static List<CorpusMessage> Generate(int count, int linesPerStep = 40)
    {
        var list = new List<CorpusMessage>(count);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            sb.Append("From: Sender ").Append(i).Append(" <sender").Append(i).Append("@example.net>\n");
            sb.Append("To: user").Append(i).Append("@example.com\n");
            sb.Append("Subject: load bench self-test message ").Append(i).Append('\n');
            sb.Append("Message-ID: <selftest-").Append(i).Append("@loadbench.invalid>\n");
            sb.Append("MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n");
            sb.Append(".a line that starts with a dot\n.\n..two dots\n");
            int lines = 5 + (i % 10) * (i % 10) * linesPerStep; // up to ~3,300 lines (~200 KB) at 40; sizes repeat every 10
            for (int l = 0; l < lines; l++)
                sb.Append("line ").Append(l).Append(" of message ").Append(i).Append(": the quick brown fox jumps over the lazy dog\n");
            if (i % 3 == 0) sb.Append("caf\u00e9 na\u00efve \u00fcber\n"); // Latin-1 encoded below: 8-bit bytes
            if (i % 2 == 1) sb.Append("no final newline");
            list.Add(new CorpusMessage($"generated-{i}", $"sender{i}@example.net", Encoding.Latin1.GetBytes(sb.ToString())));
        }
        return list;
    }

    /// <summary>Finds shared/corpus/extract.sh beside the repository (walking up from the current and the program folder).</summary>
    public static string? FindExtractScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "shared", "corpus", "extract.sh");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    public static bool LooksExported(string dir) =>
        Directory.Exists(dir) && (File.Exists(Path.Combine(dir, "manifest.tsv")) ||
                                  Directory.EnumerateFiles(dir, "*.eml", SearchOption.AllDirectories).Any());

    /// <summary>Runs `bash extract.sh DIR` (installs an npm package; takes a minute). Returns false with a reason.</summary>
    public static bool Export(string dir, TextWriter log, out string? problem)
    {
        problem = null;
        string? script = FindExtractScript();
        if (script is null)
        {
            problem = "no corpus and no shared/corpus/extract.sh found above the current folder to export one";
            return false;
        }
        log.WriteLine($"corpus: {dir} missing, exporting it with {script} (npm install, about a minute) ...");
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(dir);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start bash");
        if (!p.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            p.Kill(entireProcessTree: true);
            problem = $"{script} did not finish within 15 minutes";
            return false;
        }
        if (p.ExitCode != 0 || !LooksExported(dir))
        {
            problem = $"{script} failed (exit code {p.ExitCode})";
            return false;
        }
        return true;
    }
}
