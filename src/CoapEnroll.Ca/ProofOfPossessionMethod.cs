namespace CoapEnroll.Ca;

/// <summary>How a requester proves that it holds the private key of the public key it asks to have certified.</summary>
public enum ProofOfPossessionMethod
{
    /// <summary>
    /// A signature with the requested key over the request (PKCS#10's own signature, RFC 2986 section 3; CRMF's POPOSigningKey,
    /// RFC 4211 section 4.1).
    /// </summary>
    Signature,
}
