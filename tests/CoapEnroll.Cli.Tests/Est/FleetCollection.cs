namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// Tests that run alone, after the parallel ones: a fleet of devices keeps both cores busy for a while, and counts the CoAP
/// duplicates of the whole process, which other tests would add to.
/// </summary>
[CollectionDefinition(nameof(FleetCollection), DisableParallelization = true)]
public sealed class FleetCollection
{
}
