namespace CoapEnroll.Cli.Tests.Est;

/// <summary>The libcoap EST interop suite against the CA whose keys are PEM files (the demo PKI of a first start).</summary>
public sealed class LibCoapEstInteropTests(EstServerFixture fixture) : LibCoapEstInteropSuite<EstServerFixture>(fixture);
