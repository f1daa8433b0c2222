namespace CoapEnroll.Coap;

/// <summary>What the registry knows of one option: name, format, length bounds and repeatability.</summary>
public sealed record CoapOptionDefinition(int Number, string Name, CoapOptionFormat Format, int MinLength, int MaxLength, bool Repeatable)
{
    public bool IsCritical => CoapOptionNumber.IsCritical(Number);

    public bool IsUnsafe => CoapOptionNumber.IsUnsafe(Number);

    public bool IsNoCacheKey => CoapOptionNumber.IsNoCacheKey(Number);
}
