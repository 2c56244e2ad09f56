using System.Text.RegularExpressions;

namespace Assp.Checks.Recipients;

/// <summary>
/// The address form DoRFC822 asks for: 7-bit only, a dot-atom or quoted local part, '@', and a domain of
/// letter/digit/hyphen labels or an address literal in brackets.
/// </summary>
public static class Rfc822
{
    private static readonly Regex s_address = new(
        """^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*|"(?:[^"\\\r\n]|\\.)*")@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[^\[\]\\\r\n]+\])$""",
        RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    public static bool IsValid(string address)
    {
        foreach (var c in address)
            if (c > 0x7E) return false;
        try
        {
            return s_address.IsMatch(address);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
