using System.Text;

namespace Assp.Mime.Html;

/// <summary>Collects text with HTML whitespace rules: runs of whitespace collapse to one space, line
/// breaks asked for by blocks collapse too (at most one blank line), nothing trails.</summary>
internal sealed class TextSink
{
    private readonly StringBuilder _sb = new();
    private bool _pendingSpace;
    private int _pendingNewlines;

    public int Length => _sb.Length;

    public void Append(char c)
    {
        if (c is ' ' or '\t' or '\n' or '\r' or '\f' || char.IsWhiteSpace(c))
        {
            if (_sb.Length > 0) _pendingSpace = true;
            return;
        }
        if (_sb.Length > 0)
        {
            if (_pendingNewlines > 0) _sb.Append('\n', _pendingNewlines);
            else if (_pendingSpace) _sb.Append(' ');
        }
        _pendingNewlines = 0;
        _pendingSpace = false;
        _sb.Append(c);
    }

    /// <summary>A separator between pieces (a space unless a line break is already due).</summary>
    public void Space()
    {
        if (_sb.Length > 0) _pendingSpace = true;
    }

    /// <summary>Make sure what follows starts on a new line (blocks).</summary>
    public void EnsureLine()
    {
        if (_sb.Length > 0 && _pendingNewlines == 0) _pendingNewlines = 1;
    }

    /// <summary>A forced line break (&lt;br&gt;, newline in &lt;pre&gt;); two in a row leave a blank line.</summary>
    public void LineBreak()
    {
        if (_sb.Length > 0 && _pendingNewlines < 2) _pendingNewlines++;
    }

    public override string ToString() => _sb.ToString();
}
