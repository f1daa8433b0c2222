namespace CoapEnroll.Ca;

/// <summary>
/// The CA's key cannot be reached for now (the token was removed, the session to the HSM was lost): nothing was signed, and the
/// same request may succeed later. EST and CMP answer "service unavailable" with a retry time.
/// </summary>
public sealed class CaKeyUnavailableException : CaUnavailableException
{
    public CaKeyUnavailableException()
        : this("the CA key is unavailable")
    {
    }

    public CaKeyUnavailableException(string message)
        : base(message, null)
    {
    }

    public CaKeyUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public override string ClientReason => "the CA key is unavailable";
}
