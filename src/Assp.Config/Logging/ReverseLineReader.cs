using System.Text;

namespace Assp.Config.Logging;

/// <summary>
/// Reads a text file's lines from the last to the first in fixed-size blocks, so searching a big log newest first
/// holds one block and one line in memory, never the file. Lines are split on LF (a CR before it is dropped);
/// UTF-8 is decoded per line, so a block boundary inside a character does no harm.
/// </summary>
public static class ReverseLineReader
{
    public const int BlockSize = 64 * 1024;

    /// <summary>The lines of the file, last first; a line longer than <paramref name="maxLineBytes"/> is cut to its last part.</summary>
    public static IEnumerable<string> ReadLines(string path, int maxLineBytes = 1 << 20)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        long position = stream.Length;
        var block = new byte[BlockSize];
        // The bytes of the line being assembled, in file order, kept at the end of the buffer.
        var line = new byte[Math.Min(BlockSize, maxLineBytes)];
        int lineStart = line.Length;
        bool first = true;
        while (position > 0)
        {
            int count = (int)Math.Min(BlockSize, position);
            position -= count;
            stream.Position = position;
            stream.ReadExactly(block, 0, count);
            for (int i = count - 1; i >= 0; i--)
            {
                byte b = block[i];
                if (b == (byte)'\n')
                {
                    // The LF that ends the file does not start an empty last line.
                    if (!(first && lineStart == line.Length)) yield return Decode(line, lineStart);
                    first = false;
                    lineStart = line.Length;
                    continue;
                }
                first = false;
                if (lineStart == 0)
                {
                    if (line.Length >= maxLineBytes) continue;   // too long: the rest of its start is dropped
                    var bigger = new byte[Math.Min(line.Length * 2, maxLineBytes)];
                    int used = line.Length;
                    Buffer.BlockCopy(line, 0, bigger, bigger.Length - used, used);
                    lineStart = bigger.Length - used;
                    line = bigger;
                }
                line[--lineStart] = b;
            }
        }
        if (lineStart < line.Length) yield return Decode(line, lineStart);
    }

    private static string Decode(byte[] line, int start)
    {
        int end = line.Length;
        if (end > start && line[end - 1] == (byte)'\r') end--;
        return Encoding.UTF8.GetString(line, start, end - start);
    }
}
