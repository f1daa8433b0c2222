namespace CoapEnroll.Cmp;

/// <summary>How a PKIMessage is protected, from its header's protectionAlg (RFC 9810 §5.1.3).</summary>
public enum CmpProtectionKind
{
    /// <summary>No protectionAlg in the header.</summary>
    None,

    /// <summary>id-PasswordBasedMac (RFC 4211 §4.4, RFC 9810 §5.1.3.1).</summary>
    PasswordBasedMac,

    /// <summary>id-PBMAC1 (RFC 8018 §7.1, RFC 9481 §6.1.2).</summary>
    Pbmac1,

    /// <summary>A signature algorithm (RFC 9810 §5.1.3.3).</summary>
    Signature,

    /// <summary>An algorithm this implementation does not know.</summary>
    Unsupported,
}
