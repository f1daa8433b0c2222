namespace CoapEnroll.Cmp;

/// <summary>The outcome of decoding a DER PKIMessage; anything but <see cref="Success"/> is a refusal with a reason.</summary>
public enum CmpDecodeStatus
{
    /// <summary>The input is a well-formed DER PKIMessage.</summary>
    Success,

    /// <summary>The input is larger than the configured size limit.</summary>
    TooLarge,

    /// <summary>The input is not valid DER (bad tag or length, truncation, wrong type, non-minimal encoding).</summary>
    Malformed,

    /// <summary>Bytes follow the PKIMessage.</summary>
    TrailingData,

    /// <summary>Constructed values are nested deeper than the configured limit.</summary>
    TooDeep,

    /// <summary>The DER is valid but a value breaks the PKIMessage syntax (empty SEQUENCE SIZE (1..MAX), integer out of range, wrong value type).</summary>
    InvalidStructure,
}
