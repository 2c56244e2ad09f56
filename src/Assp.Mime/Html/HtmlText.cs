namespace Assp.Mime.Html;

/// <summary>Options for <see cref="HtmlText.ToText"/>.</summary>
public sealed class HtmlTextOptions
{
    /// <summary>Put the content of &lt;!-- comments --&gt; (and of CDATA sections, which HTML treats as
    /// comments) into <see cref="HtmlTextResult.HiddenText"/>. Default true.</summary>
    public bool CommentsToHiddenText { get; init; } = true;

    /// <summary>Largest difference in any RGB channel (0–255) at which text colour counts as "the same"
    /// as the background. Default 16 (#f0f0f0 on white is hidden). Negative disables the colour check.</summary>
    public int ColorTolerance { get; init; } = 16;

    /// <summary>Background assumed when the mail sets none. Default white.</summary>
    public string DefaultBackground { get; init; } = "#ffffff";

    /// <summary>Text colour assumed when the mail sets none. Default black.</summary>
    public string DefaultColor { get; init; } = "#000000";

    /// <summary>Deepest element nesting tracked; deeper elements are not tracked (bounds the work of
    /// broken markup with thousands of unclosed tags). Default 512.</summary>
    public int MaxDepth { get; init; } = 512;

    internal static readonly HtmlTextOptions Default = new();
}

/// <summary>One link found in the HTML: its entity-decoded value, and where it came from.</summary>
/// <param name="Url">The value, entity-decoded and trimmed.</param>
/// <param name="Element">Lower-case element name ("a", "img", "style" for url(...) in a style element).</param>
/// <param name="Attribute">Lower-case attribute ("href", "src", "style" for url(...), "content" for meta refresh).</param>
/// <param name="HadEntities">The raw value contained character references that changed it.</param>
/// <param name="Hidden">The element was inside hidden content.</param>
public sealed record HtmlLink(string Url, string Element, string Attribute, bool HadEntities, bool Hidden);

/// <summary>The text of an HTML document as a reader sees it, plus what was hidden from the reader.</summary>
public sealed class HtmlTextResult
{
    /// <summary>The visible text: blocks on their own lines, whitespace collapsed, words that markup
    /// split (comments, hidden elements, zero-width characters, soft hyphens) joined as displayed.</summary>
    public required string Text { get; init; }

    /// <summary>What the reader cannot see: text of elements hidden by inline styles, attributes or
    /// &lt;style&gt; rules, and (by default) comments, pieces separated by spaces.</summary>
    public required string HiddenText { get; init; }

    /// <summary>Every href/src/action/background/... value and every url(...) in order.</summary>
    public required IReadOnlyList<string> Links { get; init; }

    /// <summary>The same links with their origin.</summary>
    public required IReadOnlyList<HtmlLink> LinkDetails { get; init; }

    /// <summary>Content of &lt;title&gt;, or null.</summary>
    public string? Title { get; init; }

    /// <summary>Elements whose content was hidden from the reader.</summary>
    public int HiddenElementCount { get; init; }

    /// <summary>Comments (and CDATA sections) seen.</summary>
    public int CommentCount { get; init; }

    /// <summary>Zero-width, soft-hyphen, bidi-control and similar characters dropped from the text.</summary>
    public int InvisibleCharacterCount { get; init; }

    /// <summary>Distinct hiding tricks met, e.g. "display:none", "font-size", "color", "zero-size"; "style-rule" is
    /// added when the hiding came from a &lt;style&gt; rule (class, id or tag selector) rather than an inline style.</summary>
    public required IReadOnlyList<string> HidingTricks { get; init; }
}

/// <summary>Turns HTML into text with a tolerant single-pass tokenizer.</summary>
public static class HtmlText
{
    /// <summary>Converts <paramref name="html"/> to visible text, hidden text and links. Never throws
    /// for any input; linear in the input length.</summary>
    public static HtmlTextResult ToText(string html, HtmlTextOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(html);
        return new HtmlTextConverter(html, options ?? HtmlTextOptions.Default).Run();
    }

    /// <summary>Decodes HTML character references in text (as in element content).</summary>
    public static string DecodeEntities(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return HtmlEntities.Decode(text, inAttribute: false);
    }

    /// <summary>Decodes HTML character references as in an attribute value ("&amp;copy=" stays).</summary>
    public static string DecodeAttributeEntities(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return HtmlEntities.Decode(value, inAttribute: true);
    }
}
