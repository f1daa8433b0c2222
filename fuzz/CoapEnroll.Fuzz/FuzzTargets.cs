namespace CoapEnroll.Fuzz;

/// <summary>Every target, by name.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<IFuzzTarget> All { get; } =
    [
        new CoapMessageTarget(),
        new CoapExchangeTarget(),
        new LinkFormatTarget(),
        new DtlsRecordTarget(),
        new DtlsClientHelloTarget(),
        new DtlsHandshakeTarget(),
        new DtlsCertificateTarget(),
        new DtlsClientKeyExchangeTarget(),
        new DtlsReassemblyTarget(),
        new Pkcs10Target(),
        new CmpTarget(),
        new CmsEnvelopedDataTarget(),
        new CmsSignedDataTarget(),
        new MultipartCoreTarget(),
    ];

    public static IFuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));
}
