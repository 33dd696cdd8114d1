"""The public image links of the products sent to Mirakl.

``/mirakl/image/<token>/<version>`` serves the image of the one variant
whose (unguessable, per variant) token it carries, without a login, and
nothing else: an unknown token, an archived variant or a variant without
image answer 404. ``version`` changes with the image so that Mirakl
downloads a new one; any value is accepted.
"""

from odoo import http
from odoo.http import request


class MiraklImageController(http.Controller):
    @http.route(
        "/mirakl/image/<string:token>/<string:version>",
        type="http",
        auth="public",
        methods=["GET"],
        csrf=False,
        readonly=True,
    )
    def mirakl_image(self, token, version=None, **kwargs):
        product = request.env["product.product"].sudo()._mirakl_by_image_token(token)
        if not product or not product.image_1920:
            raise request.not_found()
        stream = request.env["ir.binary"]._get_image_stream_from(product, "image_1920")
        response = stream.get_response(max_age=3600)
        response.headers["X-Robots-Tag"] = "noindex"
        return response
