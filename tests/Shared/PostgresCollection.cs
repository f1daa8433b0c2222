namespace CoapEnroll.Testing;

/// <summary>The tests that share the run's PostgreSQL cluster: it starts before the first and stops after the last.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "PostgreSQL";
}
