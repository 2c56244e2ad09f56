using System.Collections.Frozen;
using System.Text;

namespace Assp.Mime.Html;

/// <summary>The single-pass tokenizer behind <see cref="HtmlText.ToText"/>. It walks the input once,
/// keeps a bounded stack of open elements (for inherited visibility and colours) and writes visible
/// text, hidden text and links as it goes.</summary>
internal sealed class HtmlTextConverter
{
    private struct Frame
    {
        public string Name;
        public bool Hidden;       // hidden by something other than colour; inherited
        public bool ColorHidden;  // text colour (nearly) equals background here
        public Rgb Fg;
        public Rgb Bg;
        public bool Pre;
        public bool Block;
        public bool Boundary;     // a scope boundary: implied end tags do not look past it
        public ElementKey Key;    // tag, id and classes, for style sheet selectors (set only when there are rules)
        public readonly bool AnyHidden => Hidden || ColorHidden;
    }

    private const int MaxAttributes = 64;

    private static readonly FrozenSet<string> VoidElements = FrozenSet.ToFrozenSet(
    [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
        "source", "track", "wbr", "basefont", "bgsound", "frame", "image", "spacer", "nextid",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> BlockElements = FrozenSet.ToFrozenSet(
    [
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
        "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li", "listing", "main", "menu", "nav", "ol",
        "option", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul", "xmp",
        "plaintext", "textarea", "noscript",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> ClosesParagraph = FrozenSet.ToFrozenSet(
    [
        "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl", "dd",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hgroup", "hr", "li", "listing", "main", "menu", "nav", "ol", "p", "pre", "section",
        "summary", "table", "ul", "xmp", "plaintext",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> ScopeBoundaries = FrozenSet.ToFrozenSet(
    [
        "html", "table", "td", "th", "caption", "marquee", "object", "applet", "template", "button", "select",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> LinkAttributes = FrozenSet.ToFrozenSet(
    [
        "href", "src", "lowsrc", "dynsrc", "action", "formaction", "background", "poster", "longdesc", "data",
        "codebase", "xlink:href",
    ], StringComparer.Ordinal);

    private readonly string _s;
    private readonly HtmlTextOptions _options;
    private readonly TextSink _text = new();
    private readonly TextSink _hidden = new();
    private readonly List<HtmlLink> _links = [];
    private readonly List<string> _tricks = [];
    private readonly List<Frame> _stack = [];
    private readonly List<(string Name, string Raw)> _attrs = [];
    private readonly StringBuilder _scratch = new();
    private readonly Frame _root;
    private readonly StyleSheet? _sheet;
    private readonly List<(CssDeclaration Decl, bool FromRule)> _matched = [];
    private readonly AncestorKeys _ancestors;
    private readonly int _tolerance;
    private int _hiddenElements, _comments, _invisible;
    private string? _title;

    public HtmlTextConverter(string html, HtmlTextOptions options)
    {
        _s = html;
        _options = options;
        _tolerance = options.ColorTolerance;
        _root = new Frame
        {
            Name = "#root",
            Fg = CssStyle.TryParseColor(options.DefaultColor, out var fg) ? fg : Rgb.Black,
            Bg = CssStyle.TryParseColor(options.DefaultBackground, out var bg) ? bg : Rgb.White,
        };
        _root.ColorHidden = ColorHides(_root.Fg, _root.Bg);
        _sheet = StyleSheet.FromHtml(html);
        _ancestors = new AncestorKeys(_stack);
    }

    /// <summary>The open elements' keys, outermost first, without copying the stack.</summary>
    private sealed class AncestorKeys(List<Frame> stack) : IReadOnlyList<ElementKey>
    {
        public ElementKey this[int index] => stack[index].Key;
        public int Count => stack.Count;
        public IEnumerator<ElementKey> GetEnumerator()
        {
            foreach (var f in stack) yield return f.Key;
        }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private Frame Current => _stack.Count > 0 ? _stack[^1] : _root;

    public HtmlTextResult Run()
    {
        string s = _s;
        int n = s.Length, i = 0;
        while (i < n)
        {
            char c = s[i];
            if (c == '<') { i = OnLessThan(i); continue; }
            if (c == '&')
            {
                _scratch.Clear();
                int used = HtmlEntities.TryDecode(s, i, inAttribute: false, _scratch);
                if (used > 0)
                {
                    EmitDecoded(_scratch);
                    i += used;
                    continue;
                }
            }
            if (char.IsHighSurrogate(c) && InvisibleCharacters.IsInvisibleAt(s, i, out int len) && len == 2)
            {
                _invisible++;
                i += 2;
                continue;
            }
            EmitChar(c);
            i++;
        }
        var links = _links;
        return new HtmlTextResult
        {
            Text = _text.ToString(),
            HiddenText = _hidden.ToString(),
            Links = links.ConvertAll(l => l.Url),
            LinkDetails = links,
            Title = _title,
            HiddenElementCount = _hiddenElements,
            CommentCount = _comments,
            InvisibleCharacterCount = _invisible,
            HidingTricks = _tricks,
        };
    }

    // ---- text output -------------------------------------------------------------------------

    private void EmitDecoded(StringBuilder sb)
    {
        for (int k = 0; k < sb.Length; k++)
        {
            char c = sb[k];
            if (char.IsHighSurrogate(c) && k + 1 < sb.Length)
            {
                Span<char> pair = [c, sb[k + 1]];
                if (InvisibleCharacters.IsInvisibleAt(pair, 0, out int len) && len == 2)
                {
                    _invisible++;
                    k++;
                    continue;
                }
            }
            EmitChar(c);
        }
    }

    private void EmitChar(char c)
    {
        if (InvisibleCharacters.IsInvisible(c)) { _invisible++; return; }
        if (c == '\0') return;
        var f = Current;
        if (f.AnyHidden) _hidden.Append(c);
        else if (f.Pre && c == '\n') _text.LineBreak();
        else _text.Append(c);
    }

    private void EmitString(string content, bool decode)
    {
        if (decode && content.Contains('&'))
        {
            _scratch.Clear();
            _scratch.Append(HtmlEntities.Decode(content, inAttribute: false));
            EmitDecoded(_scratch);
        }
        else
        {
            _scratch.Clear();
            _scratch.Append(content);
            EmitDecoded(_scratch);
        }
    }

    private void AddTrick(string trick)
    {
        if (!_tricks.Contains(trick)) _tricks.Add(trick);
    }

    private bool ColorHides(Rgb fg, Rgb bg) => _tolerance >= 0 && (fg.Transparent || fg.Distance(bg) <= _tolerance);

    // ---- markup ------------------------------------------------------------------------------

    private int OnLessThan(int i)
    {
        string s = _s;
        int n = s.Length;
        if (i + 1 >= n) { EmitChar('<'); return i + 1; }
        char d = s[i + 1];
        if (char.IsAsciiLetter(d)) return ParseStartTag(i);
        if (d == '/')
        {
            if (i + 2 >= n) { EmitChar('<'); EmitChar('/'); return n; }
            if (char.IsAsciiLetter(s[i + 2])) return ParseEndTag(i);
            if (s[i + 2] == '>') return i + 3;
            return SkipToGreaterThan(i + 2);
        }
        if (d == '!')
        {
            if (i + 3 < n && s[i + 2] == '-' && s[i + 3] == '-') return ParseComment(i + 4);
            if (string.CompareOrdinal(s, i + 2, "[CDATA[", 0, 7) == 0) return ParseCData(i + 9);
            return SkipToGreaterThan(i + 2); // <!DOCTYPE ...> and other bogus comments
        }
        if (d == '?') return SkipToGreaterThan(i + 2);
        EmitChar('<');
        return i + 1;
    }

    private int SkipToGreaterThan(int j)
    {
        int gt = _s.IndexOf('>', j);
        return gt < 0 ? _s.Length : gt + 1;
    }

    private int ParseComment(int j)
    {
        string s = _s;
        int n = s.Length;
        if (j < n && s[j] == '>') { OnComment(j, j); return j + 1; }          // <!-->
        if (j + 1 < n && s[j] == '-' && s[j + 1] == '>') { OnComment(j, j); return j + 2; } // <!--->
        int from = j;
        while (true)
        {
            int k = s.IndexOf("--", from, StringComparison.Ordinal);
            if (k < 0) { OnComment(j, n); return n; }
            if (k + 2 < n && s[k + 2] == '>') { OnComment(j, k); return k + 3; }
            if (k + 3 < n && s[k + 2] == '!' && s[k + 3] == '>') { OnComment(j, k); return k + 4; }
            from = k + 1;
        }
    }

    private int ParseCData(int j)
    {
        int end = _s.IndexOf("]]>", j, StringComparison.Ordinal);
        if (end < 0) { OnComment(j, _s.Length); return _s.Length; }
        OnComment(j, end);
        return end + 3;
    }

    private void OnComment(int start, int end)
    {
        _comments++;
        if (!_options.CommentsToHiddenText || end <= start) return;
        _hidden.Space();
        for (int k = start; k < end; k++)
        {
            char c = _s[k];
            if (!InvisibleCharacters.IsInvisible(c)) _hidden.Append(c);
        }
        _hidden.Space();
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f';

    private static string LowerName(string s, int start, int end)
    {
        var span = s.AsSpan(start, end - start);
        bool lower = true;
        foreach (char c in span) if (char.IsAsciiLetterUpper(c)) { lower = false; break; }
        return lower ? span.ToString() : span.ToString().ToLowerInvariant();
    }

    private int ParseStartTag(int i)
    {
        string s = _s;
        int n = s.Length;
        int j = i + 1, nameStart = j;
        while (j < n && !IsSpace(s[j]) && s[j] != '/' && s[j] != '>') j++;
        string name = LowerName(s, nameStart, j);
        _attrs.Clear();
        bool selfClosing = false;
        while (true)
        {
            while (j < n && (IsSpace(s[j]) || s[j] == '/'))
            {
                selfClosing = s[j] == '/';
                j++;
            }
            if (j >= n) return n; // end of input inside a tag: the tag is dropped
            if (s[j] == '>') { j++; break; }
            selfClosing = false;
            int an = j++;
            while (j < n && !IsSpace(s[j]) && s[j] != '/' && s[j] != '>' && s[j] != '=') j++;
            int anEnd = j;
            while (j < n && IsSpace(s[j])) j++;
            string raw = "";
            if (j < n && s[j] == '=')
            {
                j++;
                while (j < n && IsSpace(s[j])) j++;
                if (j >= n) return n;
                char q = s[j];
                if (q is '"' or '\'')
                {
                    int e = s.IndexOf(q, j + 1);
                    if (e < 0) return n;
                    raw = s.Substring(j + 1, e - j - 1);
                    j = e + 1;
                }
                else
                {
                    int vs = j;
                    while (j < n && !IsSpace(s[j]) && s[j] != '>') j++;
                    raw = s.Substring(vs, j - vs);
                }
            }
            if (_attrs.Count < MaxAttributes)
            {
                string aname = LowerName(s, an, anEnd);
                if (!_attrs.Exists(a => a.Name == aname)) _attrs.Add((aname, raw));
            }
        }
        _ = selfClosing; // HTML ignores the self-closing flag on non-void elements, and so do we
        return OnStartTag(name, j);
    }

    private string? RawAttr(string name)
    {
        foreach (var (n, raw) in _attrs) if (n == name) return raw;
        return null;
    }

    private string? Attr(string name)
    {
        var raw = RawAttr(name);
        return raw is null ? null : raw.Contains('&') ? HtmlEntities.Decode(raw, inAttribute: true) : raw;
    }

    private int OnStartTag(string name, int j)
    {
        ImpliedEnds(name);
        var parent = Current;

        var facts = new StyleFacts();
        var style = Attr("style");
        ElementKey key = default;
        _matched.Clear();
        if (_sheet is not null)
        {
            key = new ElementKey(name, Attr("id")?.Trim() is { Length: > 0 } id ? id : null, SplitClasses(Attr("class")));
            _sheet.Match(key, _ancestors, _matched);
        }
        if (_matched.Count > 0 || style is not null) CssStyle.Evaluate(Cascade(_matched, style), ref facts);
        if (RawAttr("hidden") is not null) facts.HiddenBy ??= "hidden-attribute";
        if (Attr("bgcolor") is { } bgAttr && CssStyle.TryParseColor(bgAttr, out var bgc) && facts.Background is null)
            facts.Background = bgc;
        if (name == "font" && Attr("color") is { } fAttr && CssStyle.TryParseColor(fAttr, out var fc) && facts.Color is null)
            facts.Color = fc;
        if (name == "body" && Attr("text") is { } tAttr && CssStyle.TryParseColor(tAttr, out var tc) && facts.Color is null)
            facts.Color = tc;

        var frame = new Frame
        {
            Name = name,
            Hidden = parent.Hidden || facts.HiddenBy is not null,
            Fg = facts.Color ?? parent.Fg,
            Bg = facts.Background is { Transparent: false } b ? b : parent.Bg,
            Pre = parent.Pre || name is "pre" or "listing" or "textarea" or "plaintext",
            Block = BlockElements.Contains(name),
            Boundary = ScopeBoundaries.Contains(name),
            Key = key,
        };
        frame.ColorHidden = !frame.Hidden && ColorHides(frame.Fg, frame.Bg);

        if (!parent.AnyHidden)
        {
            if (facts.HiddenBy is not null)
            {
                _hiddenElements++;
                AddTrick(facts.HiddenBy);
                if (facts.HiddenByRule) AddTrick(StyleRuleTrick);
                _hidden.Space();
            }
            else if (frame.ColorHidden)
            {
                _hiddenElements++;
                AddTrick("color");
                if (facts.ColorsByRule) AddTrick(StyleRuleTrick);
                _hidden.Space();
            }
        }

        CollectLinks(name, frame.AnyHidden);

        if (!frame.AnyHidden)
        {
            if (name == "br") _text.LineBreak();
            else if (frame.Block) _text.EnsureLine();
            else if (name is "td" or "th") _text.Space();
        }
        else if (frame.Hidden != parent.Hidden || frame.ColorHidden != parent.ColorHidden || name is "br" || frame.Block)
        {
            _hidden.Space();
        }

        if (VoidElements.Contains(name)) return j;

        switch (name)
        {
            case "script":
            case "style":
            case "title":
            case "textarea":
            case "xmp":
            case "iframe":
            case "noembed":
            case "noframes":
                return RawText(name, frame, j);
            case "plaintext":
                PushTemporarily(frame, () => EmitString(_s[j..], decode: false));
                return _s.Length;
        }

        if (_stack.Count < Math.Max(1, _options.MaxDepth)) _stack.Add(frame);
        return j;
    }

    /// <summary>Added to the tricks when the hiding came from a &lt;style&gt; rule rather than the element's own style.</summary>
    internal const string StyleRuleTrick = "style-rule";

    private const int MaxClasses = 32;

    private static string[]? SplitClasses(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var parts = value.Split([' ', '\t', '\n', '\r', '\f'], StringSplitOptions.RemoveEmptyEntries)
            .Distinct(StringComparer.OrdinalIgnoreCase).Take(MaxClasses).ToArray();
        return parts.Length == 0 ? null : parts;
    }

    /// <summary>The CSS cascade for one element: rule declarations (already by specificity), then the inline
    /// style, then the important ones in the same order, so that later entries win.</summary>
    private static List<(CssDeclaration Decl, bool FromRule)> Cascade(List<(CssDeclaration Decl, bool FromRule)> rules, string? style)
    {
        var inline = style is null ? [] : CssStyle.ParseDeclarations(style);
        var ordered = new List<(CssDeclaration, bool)>(rules.Count + inline.Count);
        foreach (var r in rules) if (!r.Decl.Important) ordered.Add(r);
        foreach (var d in inline) if (!d.Important) ordered.Add((d, false));
        foreach (var r in rules) if (r.Decl.Important) ordered.Add(r);
        foreach (var d in inline) if (d.Important) ordered.Add((d, false));
        return ordered;
    }

    private void PushTemporarily(Frame frame, Action action)
    {
        _stack.Add(frame);
        try { action(); }
        finally { _stack.RemoveAt(_stack.Count - 1); }
    }

    private int RawText(string name, Frame frame, int j)
    {
        string s = _s;
        int end = FindEndTag(name, j);
        int contentEnd = end < 0 ? s.Length : end;
        int next = end < 0 ? s.Length : SkipToGreaterThan(end + 2);
        switch (name)
        {
            case "style":
                ExtractCssUrls(s.Substring(j, contentEnd - j), "style", "style", false, frame.AnyHidden);
                break;
            case "title":
                _title ??= InvisibleCharacters.Remove(
                    string.Join(' ', HtmlEntities.Decode(s.Substring(j, contentEnd - j), false)
                        .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
                break;
            case "textarea":
            case "xmp":
                PushTemporarily(frame, () => EmitString(s.Substring(j, contentEnd - j), decode: name == "textarea"));
                if (!frame.AnyHidden) _text.EnsureLine();
                break;
        }
        return next;
    }

    private int FindEndTag(string name, int from)
    {
        string s = _s;
        int n = s.Length;
        while (true)
        {
            int k = s.IndexOf("</", from, StringComparison.Ordinal);
            if (k < 0) return -1;
            int after = k + 2 + name.Length;
            if (after <= n && string.Compare(s, k + 2, name, 0, name.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (after == n || IsSpace(s[after]) || s[after] is '/' or '>'))
                return k;
            from = k + 2;
        }
    }

    private int ParseEndTag(int i)
    {
        string s = _s;
        int n = s.Length;
        int j = i + 2, nameStart = j;
        while (j < n && !IsSpace(s[j]) && s[j] != '/' && s[j] != '>') j++;
        string name = LowerName(s, nameStart, j);
        int next = SkipToGreaterThan(j);
        if (next == n && (n == 0 || s[n - 1] != '>')) return n; // end of input inside the tag
        OnEndTag(name);
        return next;
    }

    private void OnEndTag(string name)
    {
        if (name == "br")
        {
            if (!Current.AnyHidden) _text.LineBreak();
            return;
        }
        int limit = Math.Max(0, _stack.Count - Math.Max(1, _options.MaxDepth));
        for (int k = _stack.Count - 1; k >= limit; k--)
        {
            if (_stack[k].Name != name) continue;
            var closed = _stack[k];
            _stack.RemoveRange(k, _stack.Count - k);
            if (!closed.AnyHidden)
            {
                if (closed.Block) _text.EnsureLine();
                else if (name is "td" or "th") _text.Space();
            }
            else if (closed.Block || name is "td" or "th") _hidden.Space();
            return;
        }
        // A stray end tag: </p> still breaks the line as an empty paragraph would.
        if ((name == "p" || BlockElements.Contains(name)) && !Current.AnyHidden) _text.EnsureLine();
    }

    private void ImpliedEnds(string name)
    {
        if (_stack.Count == 0) return;
        if (ClosesParagraph.Contains(name)) CloseInScope("p", null);
        switch (name)
        {
            case "li":
                CloseInScope("li", ListBoundaries);
                break;
            case "dd":
            case "dt":
                CloseInScope("dd", DefinitionListBoundaries);
                CloseInScope("dt", DefinitionListBoundaries);
                break;
            case "td":
            case "th":
                CloseCell();
                break;
            case "tr":
                CloseCell();
                CloseInScope("tr", TableSectionBoundaries);
                break;
            case "option":
            case "optgroup":
                if (Current.Name == "option") _stack.RemoveAt(_stack.Count - 1);
                break;
            case "a":
                CloseInScope("a", null);
                break;
        }
    }

    private static readonly string[] ListBoundaries = ["ul", "ol"];
    private static readonly string[] DefinitionListBoundaries = ["dl"];
    private static readonly string[] TableSectionBoundaries = ["tbody", "thead", "tfoot"];

    private void CloseCell()
    {
        for (int k = _stack.Count - 1; k >= 0; k--)
        {
            string nm = _stack[k].Name;
            if (nm is "td" or "th") { _stack.RemoveRange(k, _stack.Count - k); return; }
            if (nm is "tr" or "table" or "tbody" or "thead" or "tfoot" || nm == "html") return;
        }
    }

    private void CloseInScope(string target, string[]? extraBoundaries)
    {
        int stop = Math.Max(0, _stack.Count - 64);
        for (int k = _stack.Count - 1; k >= stop; k--)
        {
            string nm = _stack[k].Name;
            if (nm == target) { _stack.RemoveRange(k, _stack.Count - k); return; }
            if (_stack[k].Boundary || (extraBoundaries is not null && Array.IndexOf(extraBoundaries, nm) >= 0)) return;
        }
    }

    // ---- links -------------------------------------------------------------------------------

    private void CollectLinks(string element, bool hidden)
    {
        foreach (var (aname, raw) in _attrs)
        {
            if (LinkAttributes.Contains(aname))
            {
                if (aname == "data" && element != "object") continue;
                AddLink(raw, element, aname, hidden);
            }
            else if (aname == "srcset")
            {
                string v = raw.Contains('&') ? HtmlEntities.Decode(raw, true) : raw;
                foreach (var part in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    int sp = part.IndexOfAny([' ', '\t', '\n', '\r']);
                    AddDecodedLink(sp < 0 ? part : part[..sp], element, aname, v != raw, hidden);
                }
            }
            else if (aname == "style" && raw.Contains("url", StringComparison.OrdinalIgnoreCase))
            {
                string v = raw.Contains('&') ? HtmlEntities.Decode(raw, true) : raw;
                ExtractCssUrls(v, element, "style", v != raw, hidden);
            }
            else if (aname == "content" && element == "meta"
                && string.Equals(Attr("http-equiv")?.Trim(), "refresh", StringComparison.OrdinalIgnoreCase))
            {
                string v = raw.Contains('&') ? HtmlEntities.Decode(raw, true) : raw;
                int u = v.IndexOf("url", StringComparison.OrdinalIgnoreCase);
                if (u < 0) continue;
                int eq = v.IndexOf('=', u);
                if (eq < 0) continue;
                AddDecodedLink(v[(eq + 1)..].Trim().Trim('"', '\''), element, aname, v != raw, hidden);
            }
        }
    }

    private void AddLink(string raw, string element, string attribute, bool hidden)
    {
        string v = raw.Contains('&') ? HtmlEntities.Decode(raw, inAttribute: true) : raw;
        AddDecodedLink(v, element, attribute, v != raw, hidden);
    }

    private void AddDecodedLink(string value, string element, string attribute, bool hadEntities, bool hidden)
    {
        value = value.Trim();
        if (value.Length == 0) return;
        _links.Add(new HtmlLink(value, element, attribute, hadEntities, hidden));
    }

    private void ExtractCssUrls(string css, string element, string attribute, bool hadEntities, bool hidden)
    {
        int k = 0;
        while ((k = css.IndexOf("url(", k, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            k += 4;
            while (k < css.Length && IsSpace(css[k])) k++;
            if (k >= css.Length) return;
            int end;
            if (css[k] is '"' or '\'')
            {
                end = css.IndexOf(css[k], k + 1);
                if (end < 0) return;
                AddDecodedLink(css.Substring(k + 1, end - k - 1), element, attribute, hadEntities, hidden);
            }
            else
            {
                end = css.IndexOf(')', k);
                if (end < 0) end = css.Length;
                AddDecodedLink(css[k..end], element, attribute, hadEntities, hidden);
            }
            k = end;
        }
    }
}
