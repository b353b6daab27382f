/** The shape of a REST route, for transit's route table and every pipeline's: what the router dispatches to. */

/** What a route handler sees of the request. */
export interface ApiRequest {
  pathParameters?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
}

/** A successful response before serialization; errors are thrown and mapped at the edge. */
export interface RouteResult {
  statusCode: number;
  body: unknown;
}

/** A `GET` resource and its handler, given the dependencies `D` the router was created with. */
export interface RouteDefinition<D> {
  method: 'GET';
  /** The API Gateway resource path, e.g. `/v1/sensors/{sensorId}/metrics`. */
  resource: string;
  handle(request: ApiRequest, deps: D): Promise<RouteResult>;
}
