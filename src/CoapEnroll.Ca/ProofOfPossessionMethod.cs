namespace CoapEnroll.Ca;

/// <summary>How a requester proves that it holds the private key of the public key it asks to have certified.</summary>
public enum ProofOfPossessionMethod
{
    /// <summary>
    /// A signature with the requested key over the request (PKCS#10's own signature, RFC 2986 section 3; CRMF's POPOSigningKey,
    /// RFC 4211 section 4.1).
    /// </summary>
    Signature,

    /// <summary>
    /// raVerified (RFC 4211 section 4): a registration authority that authenticated the request says it checked the proof. Only
    /// an RA's word counts; a front end creates this proof only for a requester it knows to be one.
    /// </summary>
    RaVerified,
}
