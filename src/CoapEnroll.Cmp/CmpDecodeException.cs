namespace CoapEnroll.Cmp;

/// <summary>Raised inside the codec on a structural refusal; caught at the decoding boundary and turned into a <see cref="CmpDecodeResult"/>.</summary>
internal sealed class CmpDecodeException : Exception
{
    public CmpDecodeException(CmpDecodeStatus status, string reason)
        : base(reason)
    {
        Status = status;
    }

    public CmpDecodeStatus Status { get; }
}
