namespace CoapEnroll.Cmp;

/// <summary>Raised inside protection verification on a refusal; caught at the public boundary and turned into a <see cref="CmpProtectionResult"/>.</summary>
internal sealed class CmpProtectionException : Exception
{
    public CmpProtectionException(CmpProtectionStatus status, string detail)
        : base(detail)
    {
        Status = status;
    }

    public CmpProtectionStatus Status { get; }
}
