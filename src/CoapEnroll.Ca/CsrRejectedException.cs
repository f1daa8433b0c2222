namespace CoapEnroll.Ca;

/// <summary>Internal signal from <see cref="CsrValidator"/>: the request fails a check.</summary>
internal sealed class CsrRejectedException : Exception
{
    public CsrRejectedException(RejectionReason reason, string detail)
        : base(detail)
    {
        Reason = reason;
    }

    public RejectionReason Reason { get; }
}
