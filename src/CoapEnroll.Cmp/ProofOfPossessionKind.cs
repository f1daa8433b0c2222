namespace CoapEnroll.Cmp;

/// <summary>The ProofOfPossession CHOICE alternatives (RFC 4211 §4), valued by their context tag.</summary>
public enum ProofOfPossessionKind
{
    /// <summary>raVerified [0] NULL.</summary>
    RaVerified = 0,

    /// <summary>signature [1] POPOSigningKey.</summary>
    Signature = 1,

    /// <summary>keyEncipherment [2] POPOPrivKey.</summary>
    KeyEncipherment = 2,

    /// <summary>keyAgreement [3] POPOPrivKey.</summary>
    KeyAgreement = 3,
}
