using System.Text;

namespace Assp.Config.Files;

/// <summary>One "name:=value" line of assp.cfg, with its 1-based line number.</summary>
public readonly record struct ConfigEntry(string Name, string Value, int Line);

/// <summary>
/// assp.cfg as a list of lines. Lines that are not "name:=value" (comments, blanks, junk) are kept as they are,
/// so saving changes only the lines whose values changed and the file still loads in ASSP.
/// </summary>
public sealed class AsspConfigFile
{
    public const string SavedMarkerName = "ConfigSavedOK";

    private sealed class Line
    {
        public required string Raw;
        public string? Name;
        public string? Value;
    }

    private readonly List<Line> _lines = [];
    private readonly Encoding _encoding;
    private readonly bool _bom;
    private readonly string _newline;
    private bool _endsWithNewline;

    private AsspConfigFile(Encoding encoding, bool bom, string newline, bool endsWithNewline)
    {
        _encoding = encoding;
        _bom = bom;
        _newline = newline;
        _endsWithNewline = endsWithNewline;
    }

    public static AsspConfigFile CreateEmpty() => new(new UTF8Encoding(false), false, "\n", true);

    public static AsspConfigFile Load(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>
    /// Reads the bytes as UTF-8 when they are valid UTF-8, else as Latin-1 (how Perl-era files often are);
    /// either way the same bytes come back out on save.
    /// </summary>
    public static AsspConfigFile Parse(ReadOnlySpan<byte> bytes)
    {
        bool bom = bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]);
        if (bom) bytes = bytes[3..];
        Encoding encoding;
        string text;
        try
        {
            encoding = new UTF8Encoding(false, throwOnInvalidBytes: true);
            text = encoding.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            encoding = Encoding.Latin1;
            text = encoding.GetString(bytes);
        }
        string newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        bool endsWithNewline = text.Length == 0 || text.EndsWith('\n');
        var file = new AsspConfigFile(encoding, bom, newline, endsWithNewline);
        var body = endsWithNewline && text.Length > 0 ? text[..^1] : text;
        if (text.Length == 0) return file;
        foreach (var raw in body.Split('\n'))
        {
            file._lines.Add(ParseLine(raw));
        }
        return file;
    }

    private static Line ParseLine(string raw)
    {
        // A \r belongs to the line ending, not to the value; it is kept in Raw for byte-exact output.
        var content = raw.EndsWith('\r') ? raw[..^1] : raw;
        int sep = content.IndexOf(":=", StringComparison.Ordinal);
        if (sep <= 0) return new Line { Raw = raw };
        var name = content[..sep];
        if (name.Length == 0 || name[0] == '#' || name.Any(char.IsWhiteSpace)) return new Line { Raw = raw };
        return new Line { Raw = raw, Name = name, Value = content[(sep + 2)..] };
    }

    public int LineCount => _lines.Count;

    /// <summary>Every name:=value line, in file order (duplicates included; the last one wins when read).</summary>
    public IEnumerable<ConfigEntry> Entries
    {
        get
        {
            for (int i = 0; i < _lines.Count; i++)
            {
                var l = _lines[i];
                if (l.Name is not null) yield return new ConfigEntry(l.Name, l.Value!, i + 1);
            }
        }
    }

    /// <summary>Lines that are neither name:=value nor blank nor comments.</summary>
    public IEnumerable<(int Line, string Text)> MalformedLines
    {
        get
        {
            for (int i = 0; i < _lines.Count; i++)
            {
                var l = _lines[i];
                var t = l.Raw.TrimEnd('\r').Trim();
                if (l.Name is null && t.Length > 0 && t[0] is not '#' and not ';') yield return (i + 1, t);
            }
        }
    }

    public string? Get(string name)
    {
        for (int i = _lines.Count - 1; i >= 0; i--)
        {
            if (_lines[i].Name == name) return _lines[i].Value;
        }
        return null;
    }

    public bool HasSavedMarker => Get(SavedMarkerName) is not null;

    /// <summary>Sets a value: rewrites the line that counts (the last one), or adds a line before ConfigSavedOK.</summary>
    public void Set(string name, string value)
    {
        if (value.Contains('\n') || value.Contains('\r'))
            throw new ArgumentException($"the value of {name} must be on one line", nameof(value));
        for (int i = _lines.Count - 1; i >= 0; i--)
        {
            var l = _lines[i];
            if (l.Name != name) continue;
            if (l.Value == value) return;
            bool cr = l.Raw.EndsWith('\r');
            l.Value = value;
            l.Raw = name + ":=" + value + (cr ? "\r" : "");
            return;
        }
        int insertAt = _lines.FindLastIndex(l => l.Name == SavedMarkerName);
        if (insertAt < 0) insertAt = _lines.Count;
        var cr2 = _newline == "\r\n" ? "\r" : "";
        _lines.Insert(insertAt, new Line { Raw = name + ":=" + value + cr2, Name = name, Value = value });
    }

    public bool Remove(string name) => _lines.RemoveAll(l => l.Name == name) > 0;

    /// <summary>The file as bytes; with ensureSavedMarker the ConfigSavedOK:=1 line closes it as ASSP writes it.</summary>
    public byte[] ToBytes(bool ensureSavedMarker = true)
    {
        if (ensureSavedMarker && !HasSavedMarker)
        {
            _lines.Add(new Line { Raw = SavedMarkerName + ":=1" + (_newline == "\r\n" ? "\r" : ""), Name = SavedMarkerName, Value = "1" });
            _endsWithNewline = true;
        }
        var sb = new StringBuilder(_lines.Count * 32);
        for (int i = 0; i < _lines.Count; i++)
        {
            sb.Append(_lines[i].Raw);
            if (i < _lines.Count - 1 || _endsWithNewline) sb.Append('\n');
        }
        var body = _encoding.GetBytes(sb.ToString());
        if (!_bom) return body;
        var withBom = new byte[body.Length + 3];
        withBom[0] = 0xEF; withBom[1] = 0xBB; withBom[2] = 0xBF;
        body.CopyTo(withBom, 3);
        return withBom;
    }

    /// <summary>Writes atomically (temp file + rename) and keeps the previous file as path.bak, like ASSP.</summary>
    public void Save(string path)
    {
        var bytes = ToBytes();
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Environment.ProcessId + ".tmp");
        File.WriteAllBytes(temp, bytes);
        if (File.Exists(path)) File.Copy(path, path + ".bak", overwrite: true);
        File.Move(temp, path, overwrite: true);
    }
}
