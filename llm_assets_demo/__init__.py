"""The two demo streams: seeded data (`generate`) and the logic their notebooks call.

`doc_qa`: document Q&A over PDF, CSV and TXT sources.  `promo_reco`: promotion
recommendation for card customers.  See docs/demo.md.
"""
