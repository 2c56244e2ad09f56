namespace Assp.Web;

/// <summary>
/// Keeps file names that come from a browser (or from a maillog line) inside the folders the web admin may touch.
/// A name is judged by where it really leads: every symbolic link along the path is followed, directories
/// included, so a link inside an allowed folder cannot open a door to the rest of the disk.
/// </summary>
public static class SafePaths
{
    /// <summary>Links followed at most while resolving one path (a loop ends here).</summary>
    private const int MaxLinkHops = 40;

    /// <summary>
    /// The absolute path with every symbolic link resolved, for the parts that exist (the rest is appended as
    /// written); null when the name is not a usable path or the links loop.
    /// </summary>
    public static string? RealPath(string path)
    {
        if (path.Contains('\0')) return null;
        int hops = 0;
        try
        {
            return Resolve(Path.GetFullPath(path), ref hops);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? Resolve(string full, ref int hops)
    {
        var root = Path.GetPathRoot(full) ?? "/";
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++hops > MaxLinkHops) return null;
            // A relative link target is relative to the folder holding the link (already free of links here).
            var resolved = Resolve(Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target)), ref hops);
            if (resolved is null) return null;
            current = resolved;
        }
        return current;
    }

    /// <summary>True when <paramref name="path"/> really lies below <paramref name="folder"/> (links followed on both).</summary>
    public static bool IsInside(string path, string folder)
    {
        var real = RealPath(path);
        var root = RealPath(folder);
        if (real is null || root is null) return false;
        root = root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return real.StartsWith(root, StringComparison.Ordinal);
    }

    /// <summary>True when <paramref name="folder"/> is <paramref name="path"/> itself or one of the folders above it.</summary>
    public static bool Contains(string folder, string path)
    {
        var real = RealPath(path);
        var root = RealPath(folder);
        if (real is null || root is null) return false;
        return real == root || IsInside(real, root);
    }
}
