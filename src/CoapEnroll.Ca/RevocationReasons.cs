using System.Globalization;

namespace CoapEnroll.Ca;

/// <summary>
/// The RFC 5280 CRLReason codes (section 5.3.1) a certificate may be revoked with: 0..10 except 7 (never assigned) and 8
/// (removeFromCRL, which only a delta CRL may carry; this CA issues full CRLs and never un-revokes).
/// </summary>
public static class RevocationReasons
{
    /// <summary>unspecified (0): the CRL entry then carries no reason code extension, as RFC 5280 section 5.3.1 recommends.</summary>
    public const int Unspecified = 0;

    /// <summary>keyCompromise (1).</summary>
    public const int KeyCompromise = 1;

    /// <summary>cACompromise (2).</summary>
    public const int CaCompromise = 2;

    /// <summary>affiliationChanged (3).</summary>
    public const int AffiliationChanged = 3;

    /// <summary>superseded (4).</summary>
    public const int Superseded = 4;

    /// <summary>cessationOfOperation (5).</summary>
    public const int CessationOfOperation = 5;

    /// <summary>certificateHold (6). Revocation is final here: a held certificate is not released.</summary>
    public const int CertificateHold = 6;

    /// <summary>privilegeWithdrawn (9).</summary>
    public const int PrivilegeWithdrawn = 9;

    /// <summary>aACompromise (10).</summary>
    public const int AaCompromise = 10;

    /// <summary>Explains what <see cref="IsValid"/> accepts.</summary>
    public const string ValidText = "a revocation reason must be an RFC 5280 CRLReason: 0-6, 9 or 10 (7 is unassigned, 8 removeFromCRL belongs to delta CRLs)";

    private static readonly string[] Names =
    [
        "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded", "cessationOfOperation", "certificateHold",
        "", "removeFromCRL", "privilegeWithdrawn", "aACompromise",
    ];

    /// <summary>Whether <paramref name="reason"/> is a code a certificate may be revoked with.</summary>
    public static bool IsValid(int reason) => reason is >= 0 and <= 10 and not 7 and not 8;

    /// <summary>The RFC 5280 name of a code (<c>keyCompromise</c>), or its number for a code without one.</summary>
    public static string NameOf(int reason) =>
        reason is >= 0 and <= 10 && Names[reason].Length > 0 ? Names[reason] : reason.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads a reason given by its RFC 5280 name (case-insensitive) or number; false when it is neither a valid name nor a valid number.</summary>
    public static bool TryParse(string? text, out int reason)
    {
        reason = -1;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            reason = number;
            return IsValid(number);
        }

        int index = Array.FindIndex(Names, n => n.Length > 0 && string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
        if (index >= 0 && IsValid(index))
        {
            reason = index;
            return true;
        }

        return false;
    }
}
